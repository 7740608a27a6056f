#!/usr/bin/env node
// Entry of the `edgeplane` command: runs the TypeScript CLI through tsx.
import { register } from "tsx/esm/api";
register();
await import("../src/cli/main.ts");
