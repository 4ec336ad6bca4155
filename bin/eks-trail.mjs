#!/usr/bin/env node
// Launcher for the `eks-trail` bin: registers tsx's ESM loader so the TypeScript CLI runs from any
// working directory (an `npx tsx` shebang only resolves tsx inside this repository).
import { register } from 'tsx/esm/api';

register();
await import('./eks-trail.ts');
