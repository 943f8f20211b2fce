// Independent client check: xrpl.js decodes, hashes and verifies blobs the tests submitted.
// Usage: node xrpljs_check.cjs blobs.json  ->  prints a JSON array of results.
const fs = require("fs");
const path = require("path");
const xrpl = require(path.join(process.cwd(), "node_modules", "xrpl"));

const blobs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = blobs.map((blob) => {
  const decoded = xrpl.decode(blob);
  let verified;
  try {
    verified = xrpl.verifySignature(blob);
  } catch (err) {
    verified = `error: ${err.message}`;
  }
  return {
    hash: xrpl.hashes.hashSignedTx(blob),
    verified,
    type: decoded.TransactionType,
    account: decoded.Account,
  };
});
process.stdout.write(JSON.stringify(out));
