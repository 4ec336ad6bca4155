// esbuild bundles CSS imported for its side effect into app.css (console/build.ts).
declare module '*.css';
