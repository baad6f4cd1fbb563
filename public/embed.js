// Vitrine embed loader. Paste one line where the demo should appear:
//
//   <script src="https://YOUR-VITRINE-HOST/embed.js" data-demo="sentiment"></script>
//
// Attributes: data-demo="sentiment" | "image", data-theme="dark" | "light",
// data-lang="en" | "zh", data-title="…" (the iframe's accessible name).
//
// It inserts an iframe of /embed/<demo> from the host this script came from, right after the
// script tag, and keeps its height equal to the demo's content (the frame posts its height).
// No cookies, nothing from anyone else: the frame talks only to its own host, and the models
// run inside it, on the visitor's device.
(() => {
  const script = document.currentScript;
  if (!script || !script.src) return;
  const origin = new URL(script.src).origin;
  const demo = script.dataset.demo === 'image' ? 'image' : 'sentiment';
  const params = new URLSearchParams();
  if (script.dataset.theme) params.set('theme', script.dataset.theme);
  if (script.dataset.lang) params.set('lang', script.dataset.lang);
  const query = params.toString();

  const frame = document.createElement('iframe');
  frame.src = `${origin}/embed/${demo}${query ? `?${query}` : ''}`;
  frame.title = script.dataset.title
    || (demo === 'image' ? 'Image recognition demo (runs on your device)' : 'Sentiment analysis demo (runs on your device)');
  // The image demo may use the camera, and share links are off in embeds; nothing else is allowed.
  frame.allow = 'camera';
  frame.referrerPolicy = 'strict-origin-when-cross-origin';
  frame.dataset.vitrineDemo = demo;
  frame.style.cssText = 'display:block;width:100%;max-width:100%;border:0;overflow:hidden;height:'
    + (demo === 'image' ? '640px' : '420px');
  frame.setAttribute('scrolling', 'no');
  script.after(frame);

  window.addEventListener('message', (event) => {
    if (event.source !== frame.contentWindow || event.origin !== origin) return;
    const { type, height } = event.data ?? {};
    if (type === 'vitrine:resize' && Number.isFinite(height) && height > 0 && height < 20000) {
      frame.style.height = `${Math.ceil(height)}px`;
    }
  });
})();
