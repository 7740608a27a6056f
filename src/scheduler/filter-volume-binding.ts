import { nodeSelectorTermMatches } from "./label-match.ts";
import type { FilterPlugin } from "./types.ts";
import { chooseVolumes, claimKey, claimsOfPod, NO_VOLUME_TO_BIND } from "./volume-binding.ts";

/**
 * VolumeBinding: a pod's PersistentVolumeClaims must exist and be bound or bindable on the
 * node (volume-binding.ts): a bound volume's node affinity must accept the node, and each
 * claim waiting for its first consumer needs a matching static volume there (one not taken by
 * a pod placed earlier in the round) or a class that provisions one.
 */
export const volumeBindingFilter: FilterPlugin = {
  name: "VolumeBinding",
  prepare(pod, cluster) {
    const names = claimsOfPod(pod.pod);
    if (names.length === 0 || !cluster.claims) return () => undefined;
    const states = names.map((n) => cluster.claims!.get(claimKey(pod.namespace, n)) ?? { error: `persistentvolumeclaim "${n}" not found` });
    const errors = states.flatMap((s) => (s.error ? [s.error] : []));
    if (errors.length) return () => errors;
    const terms = states.flatMap((s) => (s.nodeTerms ? [s.nodeTerms] : []));
    const unbound = states.filter((s) => s.claim && !s.nodeTerms);
    return (node) => {
      if (!terms.every((t) => t.some((term) => nodeSelectorTermMatches(term, node.labels, node.name)))) return ["node(s) had volume node affinity conflict"];
      if (unbound.length > 0 && chooseVolumes(unbound, node, cluster.takenVolumes).includes(undefined)) return [NO_VOLUME_TO_BIND];
      return undefined;
    };
  },
};
