import { nodeSelectorTermMatches } from "./label-match.ts";
import type { FilterPlugin } from "./types.ts";
import { claimKey, claimsOfPod } from "./volume-binding.ts";

/**
 * VolumeBinding: a pod's PersistentVolumeClaims must exist and be bound or provisionable
 * (volume-binding.ts), and a bound volume's node affinity must accept the node.
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
    return (node) => (terms.every((t) => t.some((term) => nodeSelectorTermMatches(term, node.labels, node.name))) ? undefined : ["node(s) had volume node affinity conflict"]);
  },
};
