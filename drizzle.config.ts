import { defineConfig } from "drizzle-kit";

// Generated SQL goes to wrangler's migrations_dir; never edit it by hand.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/store/schema.ts",
  out: "./migrations",
});
