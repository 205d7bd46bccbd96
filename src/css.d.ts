/** CSS imported as text (esbuild's text loader) so the notebook widget can inject its styles. */
declare module '*.css' {
  const text: string;
  export default text;
}
