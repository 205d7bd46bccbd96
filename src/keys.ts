/**
 * The review view's keyboard: the configurable single-key commands (KeyMap) and how a key
 * press inside the view maps to one of them. Ctrl/Cmd+Enter always submits and Ctrl/Cmd+F
 * goes to the diff search; single keys act only outside text fields.
 */

/** Keys the view answers to (Ctrl/Cmd+Enter always submits). Configurable in the settings. */
export interface KeyMap {
  nextComment: string;
  prevComment: string;
  flagLine: string;
  toggleView: string;
  nextItem: string;
}

export const DEFAULT_KEYS: KeyMap = { nextComment: 'j', prevComment: 'k', flagLine: 'f', toggleView: 'u', nextItem: 'n' };

/** What each command does in the view that owns the keys. */
export interface KeyActions {
  submit(): void;
  find(): void;
  nextComment(): void;
  prevComment(): void;
  flagLine(): void;
  toggleView(): void;
  nextItem(): void;
}

/** Run the command bound to the key press `ev`, if any, and keep the key from JupyterLab. */
export function handleKey(ev: KeyboardEvent, k: KeyMap, act: KeyActions): void {
  if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter') {
    ev.preventDefault();
    ev.stopPropagation();
    act.submit();
    return;
  }
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'f') {
    // The diff is virtualised: the browser's find sees only the rows on screen.
    ev.preventDefault();
    ev.stopPropagation();
    act.find();
    return;
  }
  const t = ev.target as HTMLElement;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || t.closest('textarea, input, select')) {
    return;
  }
  const actions: Record<string, () => void> = {
    [k.nextComment]: () => act.nextComment(),
    [k.prevComment]: () => act.prevComment(),
    [k.flagLine]: () => act.flagLine(),
    [k.toggleView]: () => act.toggleView(),
    [k.nextItem]: () => act.nextItem()
  };
  const run = actions[ev.key];
  if (run) {
    ev.preventDefault();
    ev.stopPropagation();
    run();
  }
}
