/**
 * The owner's view of a reward model's line attributions: an item's diff with a heat strip beside
 * the added lines, each coloured by how the model's reward moves when that line is deleted
 * (red: the line lowers the reward, blue: it raises it), a legend and the value in a tooltip.
 * The data come from the owner-only route /oversight/api/studies/{study}/items/{item}/attribution;
 * raters get 403 there, so the view is of use to a study's owner only. It opens from a command,
 * and from a button this plugin adds to the instructor dashboard's toolbar.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

export interface LineAttribution {
  line: number;
  text: string;
  delta: number;
}

export interface AttributionData {
  item: string;
  path: string;
  diff: string;
  model: string;
  method: string;
  lines: LineAttribution[];
  max_abs_delta: number;
}

export const openAttributions = 'oversight:reward-attributions';
const DASHBOARD_PREFIX = 'oversight-dashboard-';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = cls;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** Colour of a reward change: red for a line that lowers the reward, blue for one that raises it; stronger = larger. */
export function heatColour(delta: number, maxAbs: number): string {
  const share = maxAbs > 0 ? Math.min(1, Math.abs(delta) / maxAbs) : 0;
  const alpha = (0.12 + 0.78 * share).toFixed(2);
  return delta > 0 ? `rgba(214, 39, 40, ${alpha})` : delta < 0 ? `rgba(31, 119, 180, ${alpha})` : 'transparent';
}

export function tooltip(a: LineAttribution): string {
  const sign = a.delta > 0 ? '+' : '';
  const what = a.delta > 0 ? 'the line lowers the reward' : a.delta < 0 ? 'the line raises the reward' : 'no effect';
  return `line ${a.line}: deleting it changes the reward by ${sign}${a.delta.toPrecision(3)} (${what})`;
}

/** The diff of one item, a heat strip beside its added lines, and the legend. */
export class HeatStripView extends Widget {
  private head = el('div', 'ov-heat-head');
  private legend = el('div', 'ov-heat-legend');
  private table = el('div', 'ov-heat-diff');
  private error = el('div', 'ov-error');
  private itemInput = el('input', 'ov-heat-item');

  constructor(
    readonly study: string,
    item: string,
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {
    super();
    this.addClass('jp-OversightHeatStrip');
    this.node.style.overflow = 'auto';
    this.node.style.padding = '8px';
    const form = el('div', 'ov-heat-form');
    form.append(el('span', '', `Study ${study}: item `), this.itemInput);
    const show = el('button', 'ov-btn ov-heat-show', 'Show');
    show.onclick = () => void this.load(this.itemInput.value.trim());
    this.itemInput.onkeydown = ev => {
      if (ev.key === 'Enter') {
        void this.load(this.itemInput.value.trim());
      }
    };
    form.append(show);
    this.table.style.fontFamily = 'var(--jp-code-font-family, monospace)';
    this.table.style.fontSize = 'var(--jp-code-font-size, 13px)';
    this.node.append(form, this.head, this.legend, this.error, this.table);
    this.itemInput.value = item;
    if (item) {
      void this.load(item);
    }
  }

  async load(item: string): Promise<void> {
    if (!item) {
      this.error.textContent = 'Give the id of an item of this study.';
      return;
    }
    const url = URLExt.join(
      this.settings.baseUrl,
      'oversight',
      'api',
      'studies',
      encodeURIComponent(this.study),
      'items',
      encodeURIComponent(item),
      'attribution'
    );
    this.error.textContent = '';
    this.head.textContent = `Scoring ${item} with the reward model…`;
    const resp = await ServerConnection.makeRequest(url, { method: 'GET' }, this.settings);
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      this.head.textContent = '';
      this.table.replaceChildren();
      this.legend.replaceChildren();
      this.error.textContent = `Cannot show attributions: ${data?.error ?? `HTTP ${resp.status}`}`;
      return;
    }
    this.render(data as AttributionData);
  }

  render(data: AttributionData): void {
    this.title.label = `Reward attributions: ${data.item}`;
    this.head.textContent = `${data.item} (${data.path}) · model ${data.model} · ${data.method}: the reward change when a line is deleted`;
    this.renderLegend(data.max_abs_delta);
    const byLine = new Map(data.lines.map(a => [a.line, a]));
    const rows: HTMLElement[] = [];
    let newLine = 0;
    for (const raw of data.diff.split('\n')) {
      if (raw.startsWith('+++') || raw.startsWith('---') || raw.startsWith('diff ') || raw.startsWith('index ')) {
        continue;
      }
      const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
      const row = el('div', 'ov-heat-row');
      row.style.display = 'flex';
      row.style.whiteSpace = 'pre';
      const strip = el('span', 'ov-heat-cell');
      strip.style.width = '14px';
      strip.style.flex = '0 0 14px';
      strip.style.marginRight = '4px';
      const num = el('span', 'ov-heat-num');
      num.style.width = '4em';
      num.style.flex = '0 0 4em';
      num.style.textAlign = 'right';
      num.style.marginRight = '8px';
      num.style.color = 'var(--jp-ui-font-color2, #777)';
      const code = el('span', 'ov-heat-code', raw);
      if (hunk) {
        newLine = Number(hunk[1]);
        row.classList.add('ov-heat-hunk');
        code.style.color = 'var(--jp-ui-font-color2, #777)';
      } else if (raw.startsWith('-')) {
        row.classList.add('ov-heat-del');
        code.style.background = 'rgba(255, 0, 0, 0.06)';
      } else if (raw.startsWith('+') || raw.startsWith(' ')) {
        num.textContent = String(newLine);
        if (raw.startsWith('+')) {
          row.classList.add('ov-heat-add');
          code.style.background = 'rgba(0, 160, 0, 0.06)';
          const a = byLine.get(newLine);
          if (a) {
            strip.classList.add('ov-heat-scored');
            strip.dataset.line = String(a.line);
            strip.dataset.delta = String(a.delta);
            strip.style.background = heatColour(a.delta, data.max_abs_delta);
            strip.title = tooltip(a);
            row.title = strip.title;
          }
        }
        newLine += 1;
      } else if (!raw) {
        continue;
      }
      row.append(strip, num, code);
      rows.push(row);
    }
    this.table.replaceChildren(...rows);
  }

  private renderLegend(maxAbs: number): void {
    const bar = el('span', 'ov-heat-bar');
    bar.style.display = 'inline-block';
    bar.style.width = '160px';
    bar.style.height = '10px';
    bar.style.margin = '0 6px';
    bar.style.verticalAlign = 'middle';
    bar.style.background = `linear-gradient(to right, ${heatColour(-1, 1)}, transparent, ${heatColour(1, 1)})`;
    const v = maxAbs.toPrecision(2);
    this.legend.replaceChildren(
      el('span', 'ov-heat-low', `−${v} raises the reward`),
      bar,
      el('span', 'ov-heat-high', `+${v} lowers the reward`)
    );
    this.legend.style.margin = '6px 0';
  }
}

async function ask(title: string, placeholder: string): Promise<string> {
  const answer = await InputDialog.getText({ title, placeholder });
  return answer.button.accept ? (answer.value ?? '').trim() : '';
}

const heatStripPlugin: JupyterFrontEndPlugin<void> = {
  id: 'oversight-ext:heatstrip',
  description: "A reward model's per-line attributions beside an item's diff (study owners).",
  autoStart: true,
  optional: [ICommandPalette, ILabShell],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null, labShell: ILabShell | null) => {
    app.commands.addCommand(openAttributions, {
      label: 'Oversight: Reward-Model Attributions',
      caption: "Which changed lines drive the server's reward model, beside the diff of an item (study owners)",
      execute: async args => {
        const study = (args.study as string) || (await ask('Attributions for which study?', 'study name'));
        if (!study) {
          return null;
        }
        const item = (args.item as string) ?? '';
        const content = new HeatStripView(study, item);
        const widget = new MainAreaWidget({ content });
        widget.id = `oversight-heatstrip-${study}-${Date.now()}`;
        widget.title.label = item ? `Reward attributions: ${item}` : `Reward attributions: ${study}`;
        widget.title.closable = true;
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });
    palette?.addItem({ command: openAttributions, category: 'Oversight' });
    // The dashboard gets a button that opens this view for its study (added here, so the dashboard needs no change).
    labShell?.currentChanged.connect((_, change) => {
      const w = change.newValue;
      if (!(w instanceof MainAreaWidget) || !w.id.startsWith(DASHBOARD_PREFIX) || w.node.dataset.ovHeatButton) {
        return;
      }
      w.node.dataset.ovHeatButton = '1';
      const study = w.id.slice(DASHBOARD_PREFIX.length);
      const button = new ToolbarButton({
        className: 'ov-heat-open',
        label: 'Reward-model attributions…',
        tooltip: "An item's diff with the reward model's per-line attributions",
        onClick: () => void app.commands.execute(openAttributions, { study })
      });
      w.toolbar.addItem('reward-attributions', button);
    });
  }
};

export default heatStripPlugin;
