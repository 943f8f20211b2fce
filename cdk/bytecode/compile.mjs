// CPython 3.13's compileall, run by Pyodide (CPython 3.13 compiled to WebAssembly, from npm), for
// machines without a native python3.13. cdk/packaging.py runs it from a copy of this folder with
// its node_modules installed by `npm ci`:
//
//   node compile.mjs <folder> <compileall arguments...>
//
// The folder is mounted at /target inside the interpreter, so the arguments name /target.
// Exit code 0 when every file compiled, 1 otherwise (compileall prints which).
import path from "node:path";
import { loadPyodide } from "pyodide";

const [folder, ...args] = process.argv.slice(2);
if (!folder) {
  console.error("usage: node compile.mjs <folder> <compileall arguments...>");
  process.exit(2);
}
const pyodide = await loadPyodide({
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});
pyodide.mountNodeFS("/target", path.resolve(folder));
pyodide.globals.set("compileall_arguments", pyodide.toPy(args));
const compiled = pyodide.runPython(`
import compileall, sys
sys.argv = ["compileall", *compileall_arguments]
compileall.main()
`);
process.exit(compiled ? 0 : 1);
