// The dashboard's entry: renders the shell into #app. Styles are bundled
// separately by build.mjs (src/styles/*.css, src/screens/*/*.css).
import { render } from 'preact';
import { App } from './app.jsx';

render(<App />, document.getElementById('app'));
