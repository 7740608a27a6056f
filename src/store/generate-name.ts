const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Random characters for generated names (`generateName`), from Kubernetes' alphabet (no vowels, no look-alikes). */
export function generateSuffix(n = 5): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return [...bytes].map((b) => GENERATE_ALPHABET[b % GENERATE_ALPHABET.length]).join("");
}
