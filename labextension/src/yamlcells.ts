/**
 * YAML highlighting for `%%knative apply` cells: while the magic heads a code cell, the cell's model
 * carries the YAML MIME type (the CodeMirror editor picks its language from the registry by it) and
 * the cell widget the class `jp-knative-yaml-cell`; when the magic goes, the notebook's own code MIME
 * type comes back.
 */
import { Cell, ICellModel } from '@jupyterlab/cells';
import { INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';

import { isYamlMagic, YAML_MIME } from './cells';

export const YAML_CELL_CLASS = 'jp-knative-yaml-cell';

/** Watches one notebook's code cells. */
export class NotebookYamlCells implements IDisposable {
  constructor(notebook: Notebook) {
    this._notebook = notebook;
    notebook.modelChanged.connect(this._onModel, this);
    this._onModel();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._notebook.modelChanged.disconnect(this._onModel, this);
    this._notebook.model?.cells.changed.disconnect(this._schedule, this);
    for (const model of this._watched) {
      this._unwatch(model);
    }
  }

  /** Bring every cell in line with its source. */
  sync(): void {
    if (this._disposed) {
      return;
    }
    for (const cell of this._notebook.widgets) {
      if (cell.model.type === 'code') {
        this._watch(cell.model);
        this._apply(cell);
      }
    }
  }

  private _onModel(): void {
    this._notebook.model?.cells.changed.connect(this._schedule, this);
    this._schedule();
  }

  /** The notebook creates the widgets for new cells in its own handler of the same signal: wait for it. */
  private _schedule(): void {
    void Promise.resolve().then(() => this.sync());
  }

  private _watch(model: ICellModel): void {
    if (this._watched.has(model)) {
      return;
    }
    this._watched.add(model);
    model.contentChanged.connect(this._onCellChanged, this);
    // The notebook resets every code cell's MIME type when the kernel's language arrives.
    model.mimeTypeChanged.connect(this._onCellChanged, this);
  }

  private _unwatch(model: ICellModel): void {
    this._watched.delete(model);
    model.contentChanged.disconnect(this._onCellChanged, this);
    model.mimeTypeChanged.disconnect(this._onCellChanged, this);
  }

  /** The sender is the cell's model, whichever of its signals fired. */
  private _onCellChanged(sender: unknown): void {
    const model = Array.from(this._watched).find(m => m === sender);
    if (!model) {
      return;
    }
    if (model.isDisposed) {
      this._unwatch(model);
      return;
    }
    const cell = this._notebook.widgets.find(w => w.model === model);
    if (cell) {
      this._apply(cell);
    }
  }

  private _apply(cell: Cell): void {
    const yaml = isYamlMagic(cell.model.sharedModel.getSource());
    const wanted = yaml ? YAML_MIME : this._notebook.codeMimetype;
    const wasYaml = cell.hasClass(YAML_CELL_CLASS);
    // Only give back the cells this class marked: another extension's MIME type stays.
    if (cell.model.mimeType !== wanted && (yaml || wasYaml || cell.model.mimeType === YAML_MIME)) {
      cell.model.mimeType = wanted;
    }
    cell.toggleClass(YAML_CELL_CLASS, yaml);
    if (yaml) {
      cell.node.dataset.knativeLanguage = 'yaml';
    } else {
      delete cell.node.dataset.knativeLanguage;
    }
  }

  private _notebook: Notebook;
  private _watched = new Set<ICellModel>();
  private _disposed = false;
}

/** Follow every notebook the tracker knows, now and later. */
export function trackYamlCells(tracker: INotebookTracker): void {
  const attach = (panel: NotebookPanel): void => {
    const cells = new NotebookYamlCells(panel.content);
    panel.disposed.connect(() => cells.dispose());
    void panel.context.ready.then(() => cells.sync());
  };
  tracker.forEach(attach);
  tracker.widgetAdded.connect((_, panel) => attach(panel));
}
