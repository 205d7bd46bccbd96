/**
 * The instructor dashboard: the owner-only live view of a study (participants done, accuracy by
 * condition with intervals, sandwiching, most-missed items, critiques that misled most) and the
 * reveal switch. The charts are the same altair charts `oversight_ext.workshop.dashboard`
 * returns in a notebook, drawn to SVG by the server, so the panel needs no charting library.
 * SVGs are shown as images (never inserted as markup), so nothing in them can run.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

const REFRESH_MS = 15000;
const CHARTS = ['participants', 'accuracy', 'sandwich', 'most_missed', 'misleading'];

export interface DashboardData {
  study: string;
  revealed: boolean;
  include_simulated: boolean;
  n_participants: number;
  n_simulated: number;
  done: number;
  total: number;
  svgs: Record<string, string>;
}

async function call<T>(settings: ServerConnection.ISettings, method: string, study: string, path: string, body?: unknown): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'oversight', 'api', 'studies', encodeURIComponent(study), path);
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const resp = await ServerConnection.makeRequest(url, init, settings);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    throw new Error(data?.error ?? `${method} ${path} failed (HTTP ${resp.status})`);
  }
  return data as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = cls;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** The dashboard of one study; refreshes itself while it is visible. */
export class DashboardView extends Widget {
  private summary = el('div', 'ov-dash-summary');
  private charts = el('div', 'ov-dash-charts');
  private error = el('div', 'ov-error');
  private simulated = el('input', 'ov-dash-simulated');
  private reveal = el('button', 'ov-btn ov-dash-reveal');
  private timer: number | null = null;
  private revealed = false;

  constructor(
    readonly study: string,
    private settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {
    super();
    this.addClass('jp-OversightDashboard');
    // Layout lives here rather than in style/: the panel is one column of scaled charts.
    this.node.style.overflow = 'auto';
    this.node.style.padding = '8px 16px';
    this.charts.style.display = 'flex';
    this.charts.style.flexDirection = 'column';
    this.charts.style.gap = '16px';
    this.simulated.type = 'checkbox';
    this.simulated.checked = true;
    this.simulated.addEventListener('change', () => void this.refresh());
    const label = el('label', 'ov-dash-toggle');
    label.append(this.simulated, document.createTextNode(' include simulated raters (grey)'));
    this.reveal.type = 'button';
    this.reveal.addEventListener('click', () => void this.toggleReveal());
    const refresh = el('button', 'ov-btn ov-refresh', '↻');
    refresh.type = 'button';
    refresh.title = 'Refresh now';
    refresh.addEventListener('click', () => void this.refresh());
    const head = el('div', 'ov-dash-head');
    head.append(el('h2', 'ov-dash-title', `Study ${study}`), refresh, label, this.reveal);
    this.node.append(head, this.summary, this.error, this.charts);
  }

  // Refresh while on screen: from attaching (first open) or showing again (tab switch).
  protected onAfterAttach(): void {
    this.start();
  }

  protected onAfterShow(): void {
    this.start();
  }

  protected onBeforeHide(): void {
    this.stop();
  }

  protected onBeforeDetach(): void {
    this.stop();
  }

  private start(): void {
    void this.refresh();
    if (this.timer === null) {
      this.timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
    }
  }

  dispose(): void {
    this.stop();
    super.dispose();
  }

  private stop(): void {
    if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
  }

  async refresh(): Promise<void> {
    let data: DashboardData;
    try {
      const query = `dashboard?format=svg&simulated=${this.simulated.checked ? 'true' : 'false'}`;
      data = await call<DashboardData>(this.settings, 'GET', this.study, query);
    } catch (err) {
      this.error.textContent = `Cannot load the dashboard: ${(err as Error).message}`;
      return;
    }
    this.error.textContent = '';
    this.render(data);
  }

  render(data: DashboardData): void {
    this.revealed = data.revealed;
    this.reveal.textContent = data.revealed ? 'Hide results from participants' : 'Reveal results to participants';
    const sims = data.n_simulated ? ` + ${data.n_simulated} simulated` : '';
    this.summary.textContent = `${data.n_participants} participants${sims}: ${data.done} of ${data.total} items judged`;
    this.charts.replaceChildren(
      ...CHARTS.filter(name => data.svgs?.[name]).map(name => {
        const img = el('img', `ov-dash-chart ov-dash-${name}`);
        img.alt = name.replace('_', ' ');
        img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data.svgs[name])}`;
        img.style.maxWidth = '100%';
        img.style.alignSelf = 'flex-start';
        return img;
      })
    );
  }

  async toggleReveal(): Promise<void> {
    try {
      const out = await call<{ revealed: boolean }>(this.settings, 'POST', this.study, 'reveal', { reveal: !this.revealed });
      this.revealed = out.revealed;
    } catch (err) {
      this.error.textContent = `Cannot change the reveal switch: ${(err as Error).message}`;
    }
    await this.refresh();
  }
}

export const openDashboard = 'oversight:open-dashboard';

const dashboardPlugin: JupyterFrontEndPlugin<void> = {
  id: 'oversight-ext:dashboard',
  description: "The instructor dashboard: a study's live results and the reveal switch (study owners).",
  autoStart: true,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null) => {
    app.commands.addCommand(openDashboard, {
      label: 'Oversight: Open Instructor Dashboard',
      caption: "Live results of a study you own, and the switch that shows participants their results",
      execute: async args => {
        let study = (args.study as string) || '';
        if (!study) {
          const answer = await InputDialog.getText({ title: 'Dashboard of which study?', placeholder: 'study name' });
          study = (answer.value ?? '').trim();
          if (!answer.button.accept || !study) {
            return null;
          }
        }
        const content = new DashboardView(study);
        const widget = new MainAreaWidget({ content });
        widget.id = `oversight-dashboard-${study}`;
        widget.title.label = `Dashboard: ${study}`;
        widget.title.closable = true;
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });
    palette?.addItem({ command: openDashboard, category: 'Oversight' });
  }
};

export default dashboardPlugin;
