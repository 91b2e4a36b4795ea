// Validate an AsyncAPI document with the AsyncAPI initiative's own parser (@asyncapi/parser,
// which the AsyncAPI CLI uses): `node validate_asyncapi.mjs FILE`. Prints every diagnostic;
// exits 1 on any error or when the document does not parse.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';

const SEVERITY = ['error', 'warning', 'info', 'hint'];
const { document, diagnostics } = await new Parser().parse(readFileSync(process.argv[2], 'utf8'));
for (const d of diagnostics) console.log(`${SEVERITY[d.severity]} ${d.code} at ${d.path.join('.') || '(root)'}: ${d.message}`);
const errors = diagnostics.filter((d) => d.severity === 0).length;
console.log(`${errors} error(s), ${diagnostics.length - errors} other diagnostic(s)`);
process.exit(errors > 0 || document === undefined ? 1 : 0);
