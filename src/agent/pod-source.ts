import type { ApiClient } from "./api-client.ts";
import type { Pod } from "./container-record.ts";
import { ObjectSource, type ObjectSourceOptions, type SourceHandler } from "./object-source.ts";

export { sleep } from "./object-source.ts";

/** The agent's pod assignments (`?fieldSelector=spec.nodeName=<node>` for one node): an ObjectSource of pods. */

export type PodHandler = SourceHandler<Pod>;
export type PodSourceOptions = ObjectSourceOptions;

export class PodSource extends ObjectSource<Pod> {
  constructor(api: ApiClient, handler: PodHandler, opts: PodSourceOptions) {
    super(api, "/api/v1/pods", handler, opts);
  }
}
