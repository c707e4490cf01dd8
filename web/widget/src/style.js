// The widget's CSS, injected into its shadow root: the host page's rules
// cannot reach inside, and these cannot leak out. :host resets what the page
// could still pass down by inheritance (fonts, colours, line height).
// --bg is the tenant colour, --fg the black or white text chosen for it.

export const css = `
:host{all:initial!important;display:block!important;position:static!important}
*{box-sizing:border-box}
[hidden]{display:none!important}
.w{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1a1a1a;
 -webkit-text-size-adjust:100%}
.sr{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);
 white-space:nowrap;border:0}
button,input,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
:focus{outline:none}
:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}
.launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;
 border:2px solid var(--fg);background:var(--bg);color:var(--fg);display:flex;align-items:center;justify-content:center;
 box-shadow:0 4px 14px rgba(0,0,0,.3);padding:0}
.launch:focus-visible{outline:3px solid var(--bg);outline-offset:3px;box-shadow:0 0 0 3px #fff,0 0 0 9px #1a1a1a}
.launch svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;
 background:#b00020;color:#fff;font-size:13px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}
.panel{position:fixed;right:20px;bottom:92px;z-index:2147483001;width:370px;max-width:calc(100vw - 40px);
 height:min(580px,calc(100vh - 112px));display:flex;flex-direction:column;background:#fff;border-radius:12px;
 box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;border:1px solid #8a8a8a}
.head{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--bg);color:var(--fg)}
.head h2{flex:1;margin:0;font-size:17px;font-weight:700;line-height:1.3;overflow-wrap:anywhere}
.x{width:44px;height:44px;border:0;border-radius:8px;background:transparent;color:var(--fg);display:flex;
 align-items:center;justify-content:center;padding:0}
.x:focus-visible{outline:3px solid var(--fg);outline-offset:-3px}
.x svg{width:22px;height:22px;fill:currentColor}
.body{flex:1;overflow-y:auto;padding:14px 14px 6px;background:#f6f7f9;overscroll-behavior:contain}
.body:focus-visible{outline-offset:-3px}
.greet{margin:0 0 12px;padding:10px 12px;border-radius:10px;background:#fff;border:1px solid #d5d8dc}
ol{list-style:none;margin:0;padding:0}
.m{display:flex;flex-direction:column;align-items:flex-start;margin:0 0 10px}
.m.me{align-items:flex-end}
.who{font-size:13px;color:#4a4f55;margin:0 4px 2px}
.b{max-width:85%;padding:8px 12px;border-radius:12px;background:#fff;border:1px solid #d5d8dc;white-space:pre-wrap;
 overflow-wrap:anywhere}
.me .b{background:var(--bg);color:var(--fg);border-color:var(--bg)}
.meta{font-size:12px;color:#4a4f55;margin:2px 4px 0}
.fail{color:#b00020}
.link{border:0;background:none;padding:0 6px;min-width:44px;min-height:44px;text-decoration:underline;color:#1a1a1a;
 font-size:13px}
.status{margin:0;padding:6px 14px;font-size:14px;background:#fff4e5;color:#5c3200;border-top:1px solid #e3c9a4}
.status:empty{display:none}
.status.bad{background:#fdecee;color:#8a0016;border-color:#f1b5bd}
.form{padding:8px 14px 0;background:#fff;border-top:1px solid #d5d8dc}
.form p{margin:0 0 6px;font-size:14px;color:#4a4f55}
.row{display:flex;gap:8px}
.row label{flex:1;display:flex;flex-direction:column;font-size:13px;color:#33383d;min-width:0}
input,textarea{border:1px solid #767676;border-radius:8px;padding:7px 9px;background:#fff;width:100%}
input{min-height:44px}
input:focus-visible,textarea:focus-visible{outline:3px solid #1a1a1a;outline-offset:0}
input[aria-invalid=true]{border-color:#b00020}
.compose{display:flex;gap:8px;align-items:flex-end;padding:10px 14px 12px;background:#fff}
.form+.compose{padding-top:8px}
textarea{flex:1;resize:none;min-height:44px;max-height:140px;line-height:1.4}
.send{flex:none;height:44px;padding:0 16px;border-radius:8px;border:2px solid var(--bg);background:var(--bg);
 color:var(--fg);font-weight:600}
.send:disabled{opacity:.6;cursor:not-allowed}
.hint{margin:-6px 14px 10px;font-size:12px;color:#4a4f55}
@media (max-width:480px){
 .panel{inset:0;width:auto;max-width:none;height:auto;border-radius:0;border:0}
 .launch{right:16px;bottom:16px}
}
@media (prefers-reduced-motion:no-preference){.panel{animation:in .15s ease-out}}
@keyframes in{from{opacity:0;transform:translateY(8px)}}
`;
