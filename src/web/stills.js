// Stills taken from the player (GetImages at the playing time): a preview dialog with a JPEG
// download, plus a small gallery of this visit's stills.
import { h, icon, saveBlob, setChildren, toast } from './dom.js';
import { dateTime, fileStamp } from './format.js';
import { getStill } from './kvs.js';

export class Stills {
  constructor(stream) {
    this.stream = stream;
    this.items = [];
    this.list = h('ul.stills-list', { 'aria-label': 'Stills taken' });
    this.emptyNote = h('p.subtle', {}, 'Stills you take appear here.');
    this.el = h('section.panel.stills', { 'aria-labelledby': 'stills-title' }, h('h2', { id: 'stills-title' }, 'Stills'), this.emptyNote, this.list);
    this.dialog = h('dialog.still-dialog', { 'aria-labelledby': 'still-dialog-title' });
    this.dialog.addEventListener('click', (e) => {
      if (e.target === this.dialog) this.dialog.close();
    });
    document.body.append(this.dialog);
  }

  destroy() {
    this.dialog.remove();
    for (const it of this.items) URL.revokeObjectURL(it.url);
  }

  /** Fetches the frame at `atMs` (server time) and shows it. */
  async take(atMs) {
    let still;
    try {
      still = await getStill(this.stream, atMs, { quality: 90 });
    } catch (err) {
      toast(`Could not take a still: ${err.message}`, 'error');
      return null;
    }
    if (!still) {
      toast('There is no image at that moment.', 'error');
      return null;
    }
    const item = { url: URL.createObjectURL(still.blob), blob: still.blob, atMs: still.timestampMs, name: fileStamp(this.stream, still.timestampMs, 'jpg') };
    this.items.unshift(item);
    this.emptyNote.hidden = true;
    this.list.prepend(
      h(
        'li',
        {},
        h(
          'button.still-thumb',
          { type: 'button', onclick: () => this.show(item), 'aria-label': `Still at ${dateTime(item.atMs)}` },
          h('img', { src: item.url, alt: '' }),
          h('span', {}, dateTime(item.atMs)),
        ),
      ),
    );
    this.show(item);
    return item;
  }

  show(item) {
    const img = h('img.still-image', { src: item.url, alt: `${this.stream} at ${dateTime(item.atMs)}` });
    setChildren(
      this.dialog,
      h('div.dialog-head', {}, h('h2', { id: 'still-dialog-title' }, `${this.stream} · ${dateTime(item.atMs)}`), h('button.icon-btn', { type: 'button', 'aria-label': 'Close', onclick: () => this.dialog.close() }, icon('close'))),
      img,
      h(
        'div.dialog-actions',
        {},
        h('button.btn.primary', { type: 'button', onclick: () => saveBlob(item.blob, item.name) }, icon('download', 16), 'Download JPEG'),
        h('button.btn.ghost', { type: 'button', onclick: () => this.dialog.close() }, 'Close'),
      ),
    );
    if (!this.dialog.open) this.dialog.showModal();
  }
}
