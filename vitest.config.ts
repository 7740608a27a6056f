import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Workers tests: the real Worker in workerd with real (local) D1 and Durable Objects.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            // sha256("test-admin-token")
            ADMIN_TOKEN_SHA256: "17d6bfe05d1b1fb7bc499f8e3f639c7b3eda4c40f321eef8887a0c04c89a99c5",
            // Secrets at rest (AES-256-GCM); a fixed test key: 32 bytes 0x01..0x20.
            SECRETS_ENCRYPTION_KEY: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
            // A retired key (32 bytes 0x20..0x3f), still accepted for reads: the rotation test seals with it.
            SECRETS_ENCRYPTION_OLD_KEYS: "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
            // Service-account tokens: a fixed test signing key (P-256, PKCS#8 DER, base64) and a retired one.
            SERVICE_ACCOUNT_SIGNING_KEY:
              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUDSAbr+c6StDxBh38gmTdEDKhL1EkIBayB7fbxWTef+hRANCAATKevEODMsC14B57OmYdSdgE+4L61TQIYjnlqiHSrZGpK4hXsHUxhNWXzLoKnV2OxlEAqwv3x3SmxJcKXyhcyId",
            SERVICE_ACCOUNT_OLD_KEYS:
              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFEIZvtMQhGaPKMAQPacxVXmCfNMbZXd8RfBedWsugsuhRANCAASgebefv034CKSG+Ak9wOWPbUAk3WKz+GlM6CYGAtUvnXa9oe0YJBRyfDoLUiWYtOwcq0UfBvLVf3oXrWDDX/Z9",
          },
        },
      }),
    ],
    test: {
      include: ["test/workers/**/*.test.ts", "test/unit/**/*.test.ts"],
      setupFiles: ["./test/workers/setup.ts"],
      testTimeout: 30_000,
      // The controller hosts' per-run debug lines (read by `npm run bench -- controllers`) stay out of test output.
      onConsoleLog: (log: string) => !log.startsWith("controllers ns=") && !log.startsWith("scheduler pending="),
      // A Durable Object still logging or awaiting when a test file's workerd is torn down makes the
      // pool report "Closing rpc while ... was pending": an artifact of the teardown, not of the code
      // under test (whose own errors still fail the run).
      onUnhandledError: (error: { name?: string; message?: string }) =>
        !(error.name === "EnvironmentTeardownError" && /Closing rpc while/.test(error.message ?? "")),
    },
  };
});
