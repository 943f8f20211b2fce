// An independent XRPL client's view of signed blobs: xrpl.js decodes, hashes and verifies each.
// Input (stdin): a JSON array of hex blobs. Output (stdout): a JSON array of
// {hash, signatureValid, tx} in the same order.
import { decode, hashes, verifySignature } from 'xrpl';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const blobs = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = blobs.map((blob) => {
  let signatureValid;
  try {
    signatureValid = verifySignature(blob);
  } catch (error) {
    signatureValid = false;
  }
  return { hash: hashes.hashSignedTx(blob), signatureValid, tx: decode(blob) };
});
process.stdout.write(JSON.stringify(results));
