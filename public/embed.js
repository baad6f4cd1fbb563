// Vitrine embed loader. Paste one line where the demo should appear:
//
//   <script src="https://YOUR-VITRINE-HOST/embed.js" data-demo="sentiment"></script>
//
// Attributes: data-demo = the id of any model in the host's catalogue ("sentiment", "image", or
// one a team added; default "sentiment"), data-theme="dark" | "light",
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
  // Catalogue ids are URL-safe by rule (lowercase letters, digits, dashes); anything else is a typo.
  const asked = script.dataset.demo ?? 'sentiment';
  const demo = /^[a-z0-9-]{1,40}$/.test(asked) ? asked : 'sentiment';
  if (demo !== asked) console.warn(`Vitrine embed: "${asked}" is not a model id; showing "sentiment"`);
  const params = new URLSearchParams();
  if (script.dataset.theme) params.set('theme', script.dataset.theme);
  if (script.dataset.lang) params.set('lang', script.dataset.lang);
  const query = params.toString();

  const frame = document.createElement('iframe');
  frame.src = `${origin}/embed/${demo}${query ? `?${query}` : ''}`;
  frame.title = script.dataset.title || 'Vitrine model demo (runs on your device)';
  // The image demo may use the camera, and share links are off in embeds; nothing else is allowed.
  frame.allow = 'camera';
  frame.referrerPolicy = 'strict-origin-when-cross-origin';
  frame.dataset.vitrineDemo = demo;
  // A first guess until the frame reports its real height (text demos are shorter, image ones taller).
  frame.style.cssText = 'display:block;width:100%;max-width:100%;border:0;overflow:hidden;height:520px';
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
