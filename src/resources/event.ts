import { humanDuration } from "./columns.ts";
import { dns1123Subdomain, qualifiedName } from "./meta.ts";
import type { FieldError, KubeObject, ResourceKind, TableColumn } from "./types.ts";
import { invalid, isObj, required, type Obj } from "./validation.ts";

/** Where the printer finds each piece of an Event, in core/v1 or events.k8s.io/v1 naming. */
export interface EventFieldNames {
  regarding: string; // involvedObject | regarding
  message: string; // message | note
  source: string; // source | deprecatedSource
  firstTimestamp: string;
  lastTimestamp: string;
  count: string;
  reportingController: string; // reportingComponent | reportingController
}

export const CORE_EVENT_FIELDS: EventFieldNames = {
  regarding: "involvedObject",
  message: "message",
  source: "source",
  firstTimestamp: "firstTimestamp",
  lastTimestamp: "lastTimestamp",
  count: "count",
  reportingController: "reportingComponent",
};

const since = (ts: unknown, now: number): string => {
  if (typeof ts !== "string" || !ts) return "<unknown>";
  const t = Date.parse(ts);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now - t);
};

const str = (v: unknown) => (typeof v === "string" ? v : "");

/** LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, and wide SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME; no AGE. */
export function eventColumns(f: EventFieldNames): TableColumn[] {
  const first = (e: KubeObject, now: number) => (e[f.firstTimestamp] ? since(e[f.firstTimestamp], now) : since(e.eventTime, now));
  const last = (e: KubeObject, now: number) => {
    if (isObj(e.series)) return since(e.series.lastObservedTime, now);
    return e[f.lastTimestamp] ? since(e[f.lastTimestamp], now) : first(e, now);
  };
  const regarding = (e: KubeObject): Obj => (isObj(e[f.regarding]) ? (e[f.regarding] as Obj) : {});
  return [
    { name: "Last Seen", type: "string", description: "The time at which the most recent occurrence of this event was recorded.", cell: last },
    { name: "Type", type: "string", description: "Type of this event (Normal, Warning), new types could be added in the future", cell: (e) => str(e.type) },
    { name: "Reason", type: "string", description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", cell: (e) => str(e.reason) },
    {
      name: "Object",
      type: "string",
      description: "The object that this event is about.",
      cell: (e) => {
        const r = regarding(e);
        const kind = str(r.kind).toLowerCase();
        return r.name ? `${kind}/${str(r.name)}` : kind;
      },
    },
    { name: "Subobject", type: "string", priority: 1, description: "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.", cell: (e) => str(regarding(e).fieldPath) },
    {
      name: "Source",
      type: "string",
      priority: 1,
      description: "The component reporting this event. Should be a short machine understandable string.",
      cell: (e) => {
        const src = isObj(e[f.source]) ? (e[f.source] as Obj) : {};
        const component = str(src.component) || str(e[f.reportingController]);
        const instance = str(src.host) || str(e.reportingInstance);
        return instance ? `${component}, ${instance}` : component;
      },
    },
    { name: "Message", type: "string", description: "A human-readable description of the status of this operation.", cell: (e) => str(e[f.message]).trim() },
    { name: "First Seen", type: "string", priority: 1, description: "The time at which the event was first recorded.", cell: first },
    {
      name: "Count",
      type: "string",
      priority: 1,
      description: "The number of times this event has occurred.",
      cell: (e) => {
        if (isObj(e.series)) return typeof e.series.count === "number" ? e.series.count : 0;
        const c = e[f.count];
        return typeof c === "number" && c !== 0 ? c : 1; // singleton events of the new API carry no count
      },
    },
    { name: "Name", type: "string", priority: 1, format: "name", description: "Name must be unique within a namespace.", cell: (e) => e.metadata.name ?? "" },
  ];
}

const LIMIT_128 = 128;
const NOTE_LIMIT = 1024;

/** The checks every Event gets, whichever API wrote it (Kubernetes' legacyValidateEvent). */
export function legacyEventErrors(e: KubeObject, f: EventFieldNames): FieldError[] {
  const errs: FieldError[] = [];
  const ns = e.metadata.namespace ?? "";
  const regardingNs = isObj(e[f.regarding]) ? str((e[f.regarding] as Obj).namespace) : "";
  const nsField = `${f.regarding}.namespace`;
  if (!e.eventTime) {
    if (!regardingNs) {
      if (ns !== "" && ns !== "default") errs.push(invalid(nsField, regardingNs, "does not match event.namespace"));
    } else if (ns !== regardingNs) errs.push(invalid(nsField, regardingNs, "does not match event.namespace"));
  } else {
    if (!regardingNs && ns !== "default" && ns !== "kube-system") errs.push(invalid(nsField, regardingNs, "does not match event.namespace"));
    const controller = str(e[f.reportingController]);
    if (!controller) errs.push(required(f.reportingController));
    errs.push(...qualifiedName(controller, f.reportingController));
    const instance = str(e.reportingInstance);
    if (!instance) errs.push(required("reportingInstance"));
    if (instance.length > LIMIT_128) errs.push(invalid("reportingInstance", "", `can have at most ${LIMIT_128} characters`));
    const action = str(e.action);
    if (!action) errs.push(required("action"));
    if (action.length > LIMIT_128) errs.push(invalid("action", "", `can have at most ${LIMIT_128} characters`));
    const reason = str(e.reason);
    if (!reason) errs.push(required("reason"));
    if (reason.length > LIMIT_128) errs.push(invalid("reason", "", `can have at most ${LIMIT_128} characters`));
    if (str(e[f.message]).length > NOTE_LIMIT) errs.push(invalid(f.message, "", `can have at most ${NOTE_LIMIT} characters`));
  }
  if (ns) errs.push(...dns1123Subdomain(ns, "namespace"));
  return errs;
}

export const eventKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "Event",
  plural: "events",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  subresources: [],
  generation: false,
  categories: [],
  ttlMs: 3600_000,
  fields: [
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "series",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
  ],
  // Kubernetes applies no defaults to core/v1 Events (no type, no count).
  validate: (e) => legacyEventErrors(e, CORE_EVENT_FIELDS),
  columns: eventColumns(CORE_EVENT_FIELDS),
  noAgeColumn: true,
};
