// The Vitrine SDK in a plain page: the whole integration is `pipeline(modelId)` and a call.
// Served at /sdk/example.html; copy it as the starting point for your own page.
const { pipeline } = await import('/sdk/vitrine.js');

const $ = (id) => document.getElementById(id);

/** Shows byte progress of a model download in a <progress> element. */
const progressInto = (bar) => ({ stage, loaded, total }) => {
  if (stage === 'download' && total) bar.value = loaded / total;
  if (stage === 'ready') bar.value = 1;
};

let sentiment;
async function analyse() {
  try {
    sentiment ??= await pipeline('sentiment', { onProgress: progressInto($('s-progress')) });
    const result = await sentiment($('text').value);
    $('s-out').textContent = JSON.stringify(result, null, 2);
  } catch (error) {
    $('s-out').textContent = `Error: ${error.message}`;
  }
}

let image;
async function classify(blob) {
  try {
    image ??= await pipeline('image', { onProgress: progressInto($('i-progress')) });
    const { top, ms, backend } = await image(blob);
    $('i-out').textContent = top.map((c) => `${(c.score * 100).toFixed(1)}%  ${c.label}`).join('\n')
      + `\n\n${ms.toFixed(1)} ms on ${backend}`;
  } catch (error) {
    $('i-out').textContent = `Error: ${error.message}`;
  }
}

$('run-text').addEventListener('click', analyse);
$('photo').addEventListener('change', (e) => e.target.files[0] && classify(e.target.files[0]));
$('run-sample').addEventListener('click', async () => classify(await (await fetch('/samples/parrot.jpg')).blob()));
