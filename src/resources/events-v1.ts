import { eventColumns, legacyEventErrors, type EventFieldNames } from "./event.ts";
import type { FieldError, ResourceKind } from "./types.ts";
import { checkImmutable, invalid, isObj, required } from "./validation.ts";

/** events.k8s.io/v1 names the core Event fields differently. */
export const V1_EVENT_FIELDS: EventFieldNames = {
  regarding: "regarding",
  message: "note",
  source: "deprecatedSource",
  firstTimestamp: "deprecatedFirstTimestamp",
  lastTimestamp: "deprecatedLastTimestamp",
  count: "deprecatedCount",
  reportingController: "reportingController",
};

const IMMUTABLE = [
  "regarding",
  "reason",
  "note",
  "deprecatedSource",
  "deprecatedFirstTimestamp",
  "deprecatedLastTimestamp",
  "deprecatedCount",
  "type",
  "eventTime",
  "action",
  "related",
  "reportingController",
  "reportingInstance",
];

export const eventsV1Kind: ResourceKind = {
  group: "events.k8s.io",
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
    "eventTime",
    "series",
    "reportingController",
    "reportingInstance",
    "action",
    "reason",
    "regarding",
    "related",
    "note",
    "type",
    "deprecatedSource",
    "deprecatedFirstTimestamp",
    "deprecatedLastTimestamp",
    "deprecatedCount",
  ],
  validate: (e, old) => {
    const errs: FieldError[] = legacyEventErrors(e, V1_EVENT_FIELDS);
    const series = e.series;
    const seriesErrors = () => {
      if (!isObj(series)) return;
      if (typeof series.count !== "number" || series.count < 2) errs.push(invalid("series.count", "", "should be at least 2"));
      if (!series.lastObservedTime) errs.push(required("series.lastObservedTime"));
    };
    if (old) {
      if (JSON.stringify(series) !== JSON.stringify(old.series)) seriesErrors();
      for (const f of IMMUTABLE) checkImmutable(errs, f, e[f], old[f]);
      return errs;
    }
    // Creation through events.k8s.io/v1 is strict.
    seriesErrors();
    if (!e.eventTime) errs.push(required("eventTime"));
    if (e.type !== "Normal" && e.type !== "Warning") errs.push(invalid("type", "", `has invalid value: ${e.type ?? ""}`));
    if (e.deprecatedFirstTimestamp) errs.push(invalid("deprecatedFirstTimestamp", "", "needs to be unset"));
    if (e.deprecatedLastTimestamp) errs.push(invalid("deprecatedLastTimestamp", "", "needs to be unset"));
    if (e.deprecatedCount) errs.push(invalid("deprecatedCount", "", "needs to be unset"));
    if (isObj(e.deprecatedSource) && (e.deprecatedSource.component || e.deprecatedSource.host)) errs.push(invalid("deprecatedSource", "", "needs to be unset"));
    return errs;
  },
  columns: eventColumns(V1_EVENT_FIELDS),
  noAgeColumn: true,
};
