/*!
 * Lokero pickup-point picker: <lokero-pickup-point>.
 *
 *   <script src="https://lokero.example/static/pickup-point.js" defer></script>
 *   <lokero-pickup-point postcode="00100" street="Mannerheimintie 5"
 *                        fits="30x20x10" lang="fi" name="pickup_point"></lokero-pickup-point>
 *
 * functions="return" (or "send", comma-separated) lists only the points that
 * take returns (or sending): GET /v1/locations?functions=.
 *
 * Plain ES2020, no dependencies, CSP friendly (no inline styles, no eval,
 * DOM built with createElement/textContent only). Styles: pickup-point.css,
 * which the element links into <head> itself.
 *
 * Events:  'lokero-select' (bubbles, composed), detail {id, name, type, street, postcode, city}
 * Storage: localStorage['lokero.pickupPoint'] = {"id": ..., "name": ...}
 * State:   element.dataset.state = 'loading' | 'ready' | 'error'
 * Timing:  performance.mark('lokero-pp-painted') after every list paint,
 *          window.__lokeroFirstPaint = performance.now() after the first one.
 */
(() => {
  'use strict';

  const TAG = 'lokero-pickup-point';
  if (!window.customElements || customElements.get(TAG)) return;

  const EVENT = 'lokero-select';
  const STORAGE_KEY = 'lokero.pickupPoint';
  const PAINT_MARK = 'lokero-pp-painted';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const LIMIT = '10';

  // Map projection: equirectangular, x shrunk by cos(64°) (Finland's middle
  // latitude), in units of 1/100 degree latitude. y grows southwards.
  const COS64 = Math.cos((64 * Math.PI) / 180);
  const project = (lon, lat) => [lon * COS64 * 100, -lat * 100];
  const unproject = (x, y) => [x / (COS64 * 100), -y / 100];
  const FINLAND = { minLon: 19, maxLon: 32, minLat: 59.5, maxLat: 70.1 };
  const MIN_VIEW = 3; // smallest map view: 0.03° latitude, about 3.3 km

  // Default API base: the origin this script was loaded from. currentScript
  // is only available while the script first runs, so capture it now.
  const SCRIPT_BASE = (() => {
    try {
      const s = document.currentScript;
      return new URL(s && s.src ? s.src : location.href).origin;
    } catch {
      return '';
    }
  })();

  const I18N = {
    fi: {
      locale: 'fi-FI',
      group: 'Noutopiste',
      filters: 'Rajaa hakua',
      lockers: 'Pakettiautomaatit',
      offices: 'Postit ja noutopisteet',
      payment: 'Maksupääte (postiennakko)',
      wheelchair: 'Esteetön',
      near: 'Hae toisen paikan läheltä',
      nearHint: 'Postinumero tai paikka',
      nearSubmit: 'Hae',
      choosePlace: 'Valitse paikka',
      placeNotFound: 'Paikkaa ei löytynyt',
      myLocation: 'Käytä sijaintiani',
      locating: 'Haetaan sijaintia…',
      geoFailed: 'Sijaintia ei saatu',
      home: 'Näytä osoitteeni läheltä',
      list: 'Noutopisteet',
      map: 'Kartta',
      selected: 'valittu',
      loading: 'Haetaan…',
      count: (n) => (n === 1 ? '1 noutopiste' : `${n} noutopistettä`),
      empty: 'Ei noutopisteitä lähellä',
      noType: 'Valitse vähintään yksi noutopistetyyppi',
      noPostcode: 'Anna postinumero',
      failed: 'Noutopisteiden haku epäonnistui',
      retry: 'Yritä uudelleen',
      types: {
        SMARTPOST: 'Pakettiautomaatti',
        LOCKER: 'Taloyhtiön pakettiautomaatti',
        POSTOFFICE: 'Posti',
        PICKUPPOINT: 'Noutopiste',
      },
      today: 'Tänään',
      tomorrow: 'huomenna',
      and: 'ja',
      timeSep: '.',
      allDay: 'avoinna ympäri vuorokauden',
      closed: 'suljettu',
      badgePayment: 'Maksupääte',
      badgeWheelchair: 'Esteetön',
      low: 'vähän tilaa',
      full: 'täynnä',
      fits: 'paketti mahtuu',
    },
    sv: {
      locale: 'sv-FI',
      group: 'Utlämningsställe',
      filters: 'Avgränsa sökningen',
      lockers: 'Paketautomater',
      offices: 'Posten och utlämningsställen',
      payment: 'Betalterminal (postförskott)',
      wheelchair: 'Tillgänglig',
      near: 'Sök nära en annan plats',
      nearHint: 'Postnummer eller plats',
      nearSubmit: 'Sök',
      choosePlace: 'Välj plats',
      placeNotFound: 'Platsen hittades inte',
      myLocation: 'Använd min position',
      locating: 'Positionen hämtas…',
      geoFailed: 'Positionen kunde inte hämtas',
      home: 'Visa nära min adress',
      list: 'Utlämningsställen',
      map: 'Karta',
      selected: 'valt',
      loading: 'Söker…',
      count: (n) => (n === 1 ? '1 utlämningsställe' : `${n} utlämningsställen`),
      empty: 'Inga utlämningsställen i närheten',
      noType: 'Välj minst en typ av utlämningsställe',
      noPostcode: 'Ange postnummer',
      failed: 'Sökningen av utlämningsställen misslyckades',
      retry: 'Försök igen',
      types: {
        SMARTPOST: 'Paketautomat',
        LOCKER: 'Husbolagets paketautomat',
        POSTOFFICE: 'Post',
        PICKUPPOINT: 'Utlämningsställe',
      },
      today: 'Idag',
      tomorrow: 'i morgon',
      and: 'och',
      timeSep: '.',
      allDay: 'öppet dygnet runt',
      closed: 'stängt',
      badgePayment: 'Betalterminal',
      badgeWheelchair: 'Tillgänglig',
      low: 'lite utrymme',
      full: 'fullt',
      fits: 'paketet ryms',
    },
    en: {
      locale: 'en-GB',
      group: 'Pickup point',
      filters: 'Filter',
      lockers: 'Parcel lockers',
      offices: 'Post offices and pickup points',
      payment: 'Payment terminal (cash on delivery)',
      wheelchair: 'Wheelchair access',
      near: 'Search near another place',
      nearHint: 'Postcode or place',
      nearSubmit: 'Search',
      choosePlace: 'Choose a place',
      placeNotFound: 'Place not found',
      myLocation: 'Use my location',
      locating: 'Getting your location…',
      geoFailed: 'Your location is not available',
      home: 'Show near my address',
      list: 'Pickup points',
      map: 'Map',
      selected: 'selected',
      loading: 'Searching…',
      count: (n) => (n === 1 ? '1 pickup point' : `${n} pickup points`),
      empty: 'No pickup points nearby',
      noType: 'Choose at least one kind of pickup point',
      noPostcode: 'Enter a postcode',
      failed: 'Could not load pickup points',
      retry: 'Try again',
      types: {
        SMARTPOST: 'Parcel locker',
        LOCKER: 'Building parcel locker',
        POSTOFFICE: 'Post office',
        PICKUPPOINT: 'Pickup point',
      },
      today: 'Today',
      tomorrow: 'tomorrow',
      and: 'and',
      timeSep: ':',
      allDay: 'open 24 h',
      closed: 'closed',
      badgePayment: 'Payment terminal',
      badgeWheelchair: 'Wheelchair access',
      low: 'little space',
      full: 'full',
      fits: 'parcel fits',
    },
  };

  // Checkbox filters, in display order.
  const FILTERS = ['lockers', 'offices', 'payment', 'wheelchair'];

  /* ---------- small helpers ---------- */

  function el(tag, className, attrs, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  // localStorage may throw (privacy mode, disabled storage): ignore.
  function readStored() {
    try {
      const v = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
      return v && typeof v.id === 'string' ? v : null;
    } catch {
      return null;
    }
  }

  function writeStored(id, name) {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ id, name }));
    } catch {
      /* ignored */
    }
  }

  // GET JSON. Rejects with an Error whose userMessage is the server's
  // {"error":{"message"}} when it sent one (network errors get none).
  async function fetchJSON(url, signal) {
    const res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    if (!res.ok || !body) {
      const err = new Error(`HTTP ${res.status}`);
      err.userMessage = (body && body.error && body.error.message) || '';
      throw err;
    }
    return body;
  }

  // Finland's outline as an SVG path, fetched once per API base.
  const outlines = new Map();
  function loadOutline(base) {
    if (!outlines.has(base)) {
      outlines.set(
        base,
        fetch(`${base}/static/finland-outline.json`)
          .then((r) => (r.ok ? r.json() : null))
          .then(outlinePath)
          .catch(() => '')
      );
    }
    return outlines.get(base);
  }

  // The operator's own tile server, if one is configured (GET /v1/map:
  // {"tiles": null} or {"tiles": {"url", "attribution", "max_zoom"}}),
  // asked once per API base.
  const tileConfigs = new Map();
  function loadTiles(base) {
    if (!tileConfigs.has(base)) {
      tileConfigs.set(
        base,
        fetch(`${base}/v1/map`)
          .then((r) => (r.ok ? r.json() : null))
          .then((m) => (m && m.tiles && typeof m.tiles.url === 'string' ? m.tiles : null))
          .catch(() => null)
      );
    }
    return tileConfigs.get(base);
  }

  // drawTiles fills the SVG group g with the raster tiles (XYZ, Web
  // Mercator) that cover view [x, y, width, height] of a map whose
  // project(lon, lat) gives [x, y] and unproject(x, y) gives [lon, lat]
  // (equirectangular, y southwards). A Mercator tile's edges are meridians
  // and parallels, so each is an axis-aligned rectangle here, stretched
  // imperceptibly inside at a town's scale.
  function drawTiles(g, tiles, view, project, unproject) {
    g.replaceChildren();
    if (!tiles) return;
    const [west, north] = unproject(view[0], view[1]);
    const [east, south] = unproject(view[0] + view[2], view[1] + view[3]);
    const n0 = Math.log2((3 * 360) / Math.max(east - west, 1e-6)); // about three tiles across
    const z = Math.max(0, Math.min(Number(tiles.max_zoom) || 19, Math.floor(n0)));
    const n = 2 ** z;
    const tileX = (lon) => Math.floor(((lon + 180) / 360) * n);
    const tileY = (lat) => {
      const r = (Math.max(-85, Math.min(85, lat)) * Math.PI) / 180;
      return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
    };
    const lonOf = (x) => (x / n) * 360 - 180;
    const latOf = (y) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;
    const x0 = tileX(west), x1 = tileX(east);
    const y0 = Math.max(0, tileY(north)), y1 = Math.min(n - 1, tileY(south));
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > 36) return; // never a flood of requests
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) {
        const [ax, ay] = project(lonOf(x), latOf(y));
        const [bx, by] = project(lonOf(x + 1), latOf(y + 1));
        const href = tiles.url.replace('{z}', z).replace('{x}', ((x % n) + n) % n).replace('{y}', y);
        g.append(svgEl('image', { href, x: ax.toFixed(3), y: ay.toFixed(3), width: (bx - ax).toFixed(3),
          height: (by - ay).toFixed(3), preserveAspectRatio: 'none' }));
      }
    }
  }
  // Other pages of lokero (the tracking page) draw their maps alike.
  window.LokeroMapTiles = { load: loadTiles, draw: drawTiles };

  function outlinePath(data) {
    if (!data || !Array.isArray(data.rings)) return '';
    const parts = [];
    for (const ring of data.rings) {
      if (!Array.isArray(ring) || ring.length < 3) continue;
      const pts = [];
      for (const c of ring) {
        const [x, y] = project(+c[0], +c[1]);
        if (Number.isFinite(x) && Number.isFinite(y)) pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      }
      if (pts.length > 2) parts.push(`M${pts.join(' ')}Z`);
    }
    return parts.join('');
  }

  // ISO weekday of a local date: 1 = Monday … 7 = Sunday.
  const isoWeekday = (d) => ((d.getDay() + 6) % 7) + 1;

  // "09:00" → "9", "09:30" → "9.30" (fi/sv) or "9:30" (en).
  function fmtTime(s, t) {
    const m = /^(\d{1,2}):(\d{2})/.exec(s || '');
    if (!m) return s || '';
    const h = String(Number(m[1]));
    return m[2] === '00' ? h : h + t.timeSep + m[2];
  }

  // One day's opening hours as text; a day missing from the list is closed.
  function dayHours(hours, weekday, t) {
    const spans = hours.filter((h) => h && h.weekday === weekday);
    if (!spans.length) return t.closed;
    if (spans.some((h) => h.from === '00:00' && h.to === '24:00')) return t.allDay;
    return spans
      .sort((a, b) => String(a.from).localeCompare(String(b.from)))
      .map((h) => `${fmtTime(h.from, t)}–${fmtTime(h.to, t)}`)
      .join(` ${t.and} `);
  }

  // "Tänään 9–18, huomenna 9–18" (user's local date).
  function hoursText(loc, t) {
    if (!Array.isArray(loc.opening_hours)) return '';
    const wd = isoWeekday(new Date());
    const today = dayHours(loc.opening_hours, wd, t);
    const tomorrow = dayHours(loc.opening_hours, (wd % 7) + 1, t);
    if (today === tomorrow) return `${t.today} ${t.and} ${t.tomorrow} ${today}`;
    return `${t.today} ${today}, ${t.tomorrow} ${tomorrow}`;
  }

  // "152 m", "1,2 km" (decimal comma in fi/sv), "12 km".
  function fmtDistance(m, t) {
    if (typeof m !== 'number' || !Number.isFinite(m)) return '';
    if (Math.round(m) < 1000) return `${Math.round(m)} m`;
    const km = m / 1000;
    const digits = km < 10 ? 1 : 0;
    const nf = new Intl.NumberFormat(t.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return `${nf.format(km)} km`;
  }

  let instances = 0;

  class LokeroPickupPoint extends HTMLElement {
    static get observedAttributes() {
      return ['postcode', 'street', 'fits', 'functions', 'lang', 'name', 'api'];
    }

    constructor() {
      super();
      this._uid = `lokero-pp-${++instances}`;
      this._results = [];
      this._selectedId = '';
      this._activeIndex = -1;
      this._override = null; // {postcode} from a place search, or {postcode, lat, lon} from geolocation
      this._filters = { lockers: true, offices: true, payment: false, wheelchair: false };
      this._search = null; // AbortController of the search in flight
      this._placeSearch = null; // AbortController of the place search in flight
      this._scheduled = false;
      this._dirty = true; // attributes/filters changed since the last finished search
      this._built = false;
      this._locating = false;
      this._outlineD = '';
    }

    connectedCallback() {
      this._linkStylesheet();
      if (!this._built) this._build();
      this._loadOutline();
      if (this._dirty) {
        this.dataset.state = 'loading';
        this._schedule();
      }
    }

    disconnectedCallback() {
      this._abort();
    }

    attributeChangedCallback(attr, oldValue, newValue) {
      if (oldValue === newValue || !this._built) return;
      switch (attr) {
        case 'name':
          this._input.name = this._fieldName();
          return;
        case 'lang':
          this._build();
          break;
        case 'api':
          this._linkStylesheet();
          this._loadOutline();
          break;
        case 'postcode':
        case 'street':
          // The page changed the address: search near it again.
          this._override = null;
          break;
      }
      this._schedule();
    }

    /* ---------- attributes ---------- */

    _attr(name) {
      return (this.getAttribute(name) || '').trim();
    }

    _lang() {
      for (const v of [this._attr('lang'), document.documentElement.lang]) {
        const code = (v || '').slice(0, 2).toLowerCase();
        if (I18N[code]) return code;
      }
      return 'fi';
    }

    _t() {
      return I18N[this._lang()];
    }

    _base() {
      return (this._attr('api') || SCRIPT_BASE || location.origin).replace(/\/+$/, '');
    }

    _fieldName() {
      return this._attr('name') || 'lokero_pickup_point';
    }

    /* ---------- setup ---------- */

    _linkStylesheet() {
      const href = `${this._base()}/static/pickup-point.css`;
      let abs;
      try {
        abs = new URL(href, document.baseURI).href;
      } catch {
        return;
      }
      for (const link of document.querySelectorAll('link[rel~="stylesheet"]')) {
        if (link.href === abs) return;
      }
      document.head.append(el('link', null, { rel: 'stylesheet', href }));
    }

    _loadTiles() {
      const base = this._base();
      loadTiles(base).then((tiles) => {
        if (base !== this._base()) return;
        this._tileConfig = tiles;
        if (this._svg) this._renderMap();
      });
    }

    _loadOutline() {
      this._loadTiles();
      const base = this._base();
      loadOutline(base).then((d) => {
        if (base !== this._base() || !d) return;
        this._outlineD = d;
        if (this._land) this._land.setAttribute('d', d);
      });
    }

    // (Re)creates the element's content in the current language. Any content
    // the page put inside the element (e.g. a no-JS fallback) is replaced.
    _build() {
      const t = this._t();
      const id = (s) => `${this._uid}-${s}`;
      this._built = true;
      this.replaceChildren();

      const root = el('div', 'lokero-pp-root', { role: 'group', 'aria-label': t.group });

      // The only named control: the value the shop's form submits.
      this._input = el('input', null, { type: 'hidden', name: this._fieldName() });
      this._input.value = this._selectedId;

      // Filters. Checkboxes have no name so they are not submitted with the page's form.
      const filters = el('fieldset', 'lokero-pp-filters');
      filters.append(el('legend', 'lokero-pp-legend', null, t.filters));
      for (const key of FILTERS) {
        const label = el('label', 'lokero-pp-check');
        const box = el('input', null, { type: 'checkbox' });
        box.checked = this._filters[key];
        box.addEventListener('change', () => {
          this._filters[key] = box.checked;
          this._schedule();
        });
        label.append(box, el('span', null, null, t[key]));
        filters.append(label);
      }

      // "Search near another place". Not a <form>: the element usually sits
      // inside the shop's checkout form, and a form inside a form is invalid
      // HTML (and would own the shop's later submit button in some DOMs).
      // Enter in the box searches instead of submitting the shop's form.
      const form = el('div', 'lokero-pp-near', { role: 'search' });
      form.append(el('label', 'lokero-pp-label', { for: id('q') }, t.near));
      const row = el('div', 'lokero-pp-row');
      this._q = el('input', 'lokero-pp-text', {
        id: id('q'),
        type: 'text',
        autocomplete: 'off',
        enterkeyhint: 'search',
        placeholder: t.nearHint,
      });
      const go = el('button', 'lokero-pp-button', { type: 'button' }, t.nearSubmit);
      row.append(this._q, go);
      this._places = el('div', 'lokero-pp-places', { role: 'group', 'aria-label': t.choosePlace, hidden: '' });
      form.append(row, this._places);
      go.addEventListener('click', () => this._findPlace());
      this._q.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          this._findPlace();
        }
      });

      const actions = el('div', 'lokero-pp-actions');
      this._geoBtn = el('button', 'lokero-pp-button lokero-pp-secondary', { type: 'button' }, t.myLocation);
      this._geoBtn.addEventListener('click', () => this._locate());
      this._homeBtn = el('button', 'lokero-pp-button lokero-pp-secondary', { type: 'button' }, t.home);
      this._homeBtn.hidden = !this._override;
      this._homeBtn.addEventListener('click', () => {
        this._q.value = '';
        this._setOverride(null);
      });
      actions.append(this._geoBtn, this._homeBtn);

      // Live status: "Haetaan…", "10 noutopistettä", errors.
      const statusRow = el('div', 'lokero-pp-status-row');
      this._status = el('p', 'lokero-pp-status', { role: 'status', 'aria-live': 'polite' });
      this._retry = el('button', 'lokero-pp-button lokero-pp-secondary', { type: 'button', hidden: '' }, t.retry);
      this._retry.addEventListener('click', () => this._schedule());
      statusRow.append(this._status, this._retry);

      // The list (keyboard) and the map (pointer).
      const body = el('div', 'lokero-pp-body');
      this._list = el('div', 'lokero-pp-list', { role: 'listbox', id: id('list'), tabindex: '0', 'aria-label': t.list });
      this._list.addEventListener('keydown', (e) => this._onKey(e));
      this._list.addEventListener('focus', () => {
        if (this._activeIndex < 0 && this._results.length) this._setActive(Math.max(0, this._selectedIndex()), true);
      });
      this._list.addEventListener('click', (e) => {
        const opt = e.target.closest('[role="option"]');
        if (opt && this._list.contains(opt)) this._select(Number(opt.dataset.index));
      });

      const mapWrap = el('div', 'lokero-pp-map');
      this._svg = svgEl('svg', { class: 'lokero-pp-svg', role: 'img', focusable: 'false', 'aria-label': t.map });
      this._land = svgEl('path', { class: 'lokero-pp-land', 'fill-rule': 'evenodd', 'vector-effect': 'non-scaling-stroke' });
      if (this._outlineD) this._land.setAttribute('d', this._outlineD);
      this._dots = svgEl('g', { class: 'lokero-pp-dots' });
      this._tiles = svgEl('g', { class: 'lokero-pp-tiles' });
      this._svg.append(this._land, this._tiles, this._dots);
      this._attribution = el('p', 'lokero-pp-attribution');
      this._svg.addEventListener('click', (e) => {
        const dot = e.target.closest('[data-index]');
        if (dot) this._select(Number(dot.getAttribute('data-index')));
      });
      mapWrap.append(this._svg, this._attribution);
      body.append(this._list, mapWrap);

      root.append(this._input, filters, form, actions, statusRow, body);
      this.append(root);

      // Show what we already have (a language switch rebuilds the DOM).
      this._renderList();
      this._renderMap();
    }

    /* ---------- searching ---------- */

    // Coalesces attribute changes made in one task into one search.
    _schedule() {
      this._dirty = true;
      if (this._scheduled) return;
      this._scheduled = true;
      queueMicrotask(() => {
        this._scheduled = false;
        if (this.isConnected && this._built) this._run();
      });
    }

    _abort() {
      if (this._search) this._search.abort();
      if (this._placeSearch) this._placeSearch.abort();
      this._search = this._placeSearch = null;
    }

    _run() {
      if (this._search) this._search.abort();
      this._search = null;
      const t = this._t();
      const o = this._override;
      const f = this._filters;
      const postcode = (o ? o.postcode || '' : this._attr('postcode')).replace(/\s+/g, '');
      const street = o ? '' : this._attr('street');
      const fits = this._attr('fits').replace(/\s+/g, '').toLowerCase();
      const functions = this._attr('functions').replace(/\s+/g, '').toLowerCase();
      const hasCoords = !!o && Number.isFinite(o.lat) && Number.isFinite(o.lon);

      const types = [];
      if (f.lockers) types.push('SMARTPOST', 'LOCKER');
      if (f.offices) types.push('POSTOFFICE', 'PICKUPPOINT');
      if (!types.length) return this._finish([], t.noType);
      if (!postcode && !hasCoords) return this._finish([], t.noPostcode);

      const q = new URLSearchParams();
      if (postcode) q.set('postcode', postcode);
      if (street) q.set('street', street);
      if (fits) q.set('fits', fits);
      if (functions) q.set('functions', functions);
      if (types.length < 4) q.set('type', types.join(','));
      if (f.payment) q.set('payment_terminal', 'true');
      if (f.wheelchair) q.set('wheelchair_access', 'true');
      if (hasCoords) {
        q.set('lat', o.lat.toFixed(5));
        q.set('lon', o.lon.toFixed(5));
      }
      q.set('limit', LIMIT);

      const ctrl = new AbortController();
      this._search = ctrl;
      this.dataset.state = 'loading';
      this._list.setAttribute('aria-busy', 'true');
      this._retry.hidden = true;
      this._status.classList.remove('lokero-pp-error');
      this._status.textContent = t.loading;

      const fitsGiven = !!fits;
      fetchJSON(`${this._base()}/v1/locations?${q}`, ctrl.signal).then(
        (data) => {
          if (this._search !== ctrl) return;
          this._search = null;
          const list = Array.isArray(data.locations) ? data.locations.filter((l) => l && typeof l.id === 'string') : [];
          this._finish(list, null, fitsGiven);
        },
        (err) => {
          if (ctrl.signal.aborted || this._search !== ctrl) return;
          this._search = null;
          this._fail((err && err.userMessage) || this._t().failed);
        }
      );
    }

    // Shows a successful search (or an empty list with a hint).
    _finish(results, hint, fitsGiven = false) {
      const t = this._t();
      this._dirty = false;
      this._results = results;
      this._fitsGiven = fitsGiven;
      this._activeIndex = -1;

      // Keep the current choice if it is still listed; otherwise clear the
      // field, then fall back to the point remembered from an earlier visit.
      const has = (id) => results.some((r) => r.id === id);
      let restore = -1;
      if (this._selectedId && !has(this._selectedId)) {
        this._selectedId = '';
        this._input.value = '';
      }
      if (!this._selectedId) {
        const stored = readStored();
        if (stored) restore = results.findIndex((r) => r.id === stored.id);
      }
      if (restore >= 0) {
        this._selectedId = results[restore].id;
        this._input.value = this._selectedId;
      }
      this._activeIndex = this._selectedIndex();

      this._paint('ready', hint || (results.length ? t.count(results.length) : t.empty));
      if (restore >= 0) this._emit(results[restore]);
    }

    _fail(message) {
      this._dirty = false;
      this._results = [];
      this._activeIndex = -1;
      if (this._selectedId) {
        this._selectedId = '';
        this._input.value = '';
      }
      this._paint('error', message);
    }

    _paint(state, message) {
      this.dataset.state = state;
      this._status.classList.toggle('lokero-pp-error', state === 'error');
      this._status.textContent = message;
      this._retry.hidden = state !== 'error';
      this._renderList();
      this._renderMap();
      if (window.performance) {
        try {
          performance.mark(PAINT_MARK);
        } catch {
          /* ignored */
        }
        if (window.__lokeroFirstPaint === undefined) window.__lokeroFirstPaint = performance.now();
      }
    }

    /* ---------- "near another place" and geolocation ---------- */

    _setOverride(o) {
      this._override = o;
      this._homeBtn.hidden = !o;
      this._schedule();
    }

    _findPlace() {
      const t = this._t();
      const text = this._q.value.trim();
      if (this._placeSearch) this._placeSearch.abort();
      this._placeSearch = null;
      this._places.hidden = true;
      this._places.replaceChildren();
      if (!text) {
        this._q.focus();
        return;
      }
      if (/^\d{5}$/.test(text)) {
        this._setOverride({ postcode: text });
        return;
      }

      const ctrl = new AbortController();
      this._placeSearch = ctrl;
      this._status.classList.remove('lokero-pp-error');
      this._status.textContent = t.loading;
      const q = new URLSearchParams({ q: text, limit: '5', lang: this._lang() });
      fetchJSON(`${this._base()}/v1/places?${q}`, ctrl.signal).then(
        (data) => {
          if (this._placeSearch !== ctrl) return;
          this._placeSearch = null;
          const places = (Array.isArray(data.places) ? data.places : []).filter(
            (p) => p && /^\d{5}$/.test(String(p.postcode))
          );
          if (!places.length) {
            this._status.textContent = t.placeNotFound;
          } else if (places.length === 1) {
            this._choosePlace(places[0]);
          } else {
            this._status.textContent = `${t.choosePlace} (${places.length})`;
            for (const p of places) {
              const label = [p.name, p.municipality].filter((s, i, a) => s && a.indexOf(s) === i).join(', ');
              const btn = el('button', 'lokero-pp-place', { type: 'button' }, `${label} ${p.postcode}`.trim());
              btn.addEventListener('click', () => this._choosePlace(p, true));
              this._places.append(btn);
            }
            this._places.hidden = false;
            this._places.firstChild.focus();
          }
        },
        (err) => {
          if (ctrl.signal.aborted || this._placeSearch !== ctrl) return;
          this._placeSearch = null;
          this._status.textContent = (err && err.userMessage) || t.placeNotFound;
        }
      );
    }

    _choosePlace(place, fromList) {
      if (place.name) this._q.value = place.name;
      this._places.hidden = true;
      this._places.replaceChildren();
      // The place buttons are gone: keep keyboard focus in the search field.
      if (fromList) this._q.focus();
      this._setOverride({ postcode: String(place.postcode) });
    }

    _locate() {
      const t = this._t();
      if (this._locating) return;
      if (!navigator.geolocation) {
        this._status.textContent = t.geoFailed;
        return;
      }
      this._locating = true;
      this._geoBtn.setAttribute('aria-busy', 'true');
      this._status.textContent = t.locating;
      const done = () => {
        this._locating = false;
        this._geoBtn.removeAttribute('aria-busy');
      };
      navigator.geolocation.getCurrentPosition(
        (pos) => {
          done();
          const { latitude: lat, longitude: lon } = pos.coords;
          this._setOverride({ postcode: this._attr('postcode'), lat, lon });
        },
        () => {
          done();
          this._status.textContent = this._t().geoFailed;
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 }
      );
    }

    /* ---------- list ---------- */

    _optionId(loc) {
      return `${this._uid}-opt-${String(loc.id).replace(/[^A-Za-z0-9_-]/g, '_')}`;
    }

    _selectedIndex() {
      return this._selectedId ? this._results.findIndex((r) => r.id === this._selectedId) : -1;
    }

    _renderList() {
      const t = this._t();
      const list = this._list;
      list.replaceChildren();
      list.removeAttribute('aria-busy');
      list.hidden = !this._results.length;

      this._results.forEach((loc, i) => {
        const opt = el('div', 'lokero-pp-option', {
          role: 'option',
          id: this._optionId(loc),
          'aria-selected': String(loc.id === this._selectedId),
          'data-index': String(i),
          'data-id': String(loc.id),
        });

        const head = el('div', 'lokero-pp-head');
        head.append(el('span', 'lokero-pp-name', null, loc.name || loc.id));
        const dist = fmtDistance(loc.distance_m, t);
        if (dist) head.append(el('span', 'lokero-pp-distance', null, dist));
        opt.append(head);

        const type = String(loc.type || '');
        opt.append(el('div', `lokero-pp-type lokero-pp-type-${type.toLowerCase()}`, null, t.types[type] || type));

        const city = [loc.postcode, loc.city].filter(Boolean).join(' ');
        const address = [loc.street, city].filter(Boolean).join(', ');
        if (address) opt.append(el('div', 'lokero-pp-address', null, address));

        const hours = hoursText(loc, t);
        if (hours) opt.append(el('div', 'lokero-pp-hours', null, hours));

        const badges = [];
        if (loc.payment_terminal) badges.push(['payment', t.badgePayment]);
        if (loc.wheelchair_access) badges.push(['access', t.badgeWheelchair]);
        const level = loc.availability && loc.availability.level;
        if (level === 'low') badges.push(['low', t.low]);
        else if (level === 'full') badges.push(['full', t.full]);
        if (this._fitsGiven && loc.fits !== false && !(loc.availability && loc.availability.fits === false)) {
          badges.push(['fits', t.fits]);
        }
        if (badges.length) {
          const wrap = el('div', 'lokero-pp-badges');
          for (const [kind, text] of badges) wrap.append(el('span', `lokero-pp-badge lokero-pp-badge-${kind}`, null, text));
          opt.append(wrap);
        }

        list.append(opt);
      });

      this._setActive(this._activeIndex, false);
    }

    // Moves the listbox's active (focused) option; scroll only on keyboard moves.
    _setActive(index, scroll) {
      const prev = this._list.querySelector('.lokero-pp-active');
      if (prev) prev.classList.remove('lokero-pp-active');
      const opt = index >= 0 ? this._list.children[index] : null;
      this._activeIndex = opt ? index : -1;
      if (!opt) {
        this._list.removeAttribute('aria-activedescendant');
        return;
      }
      opt.classList.add('lokero-pp-active');
      this._list.setAttribute('aria-activedescendant', opt.id);
      if (scroll) opt.scrollIntoView({ block: 'nearest' });
    }

    _onKey(e) {
      const n = this._results.length;
      if (!n || e.altKey || e.ctrlKey || e.metaKey) return;
      let i = this._activeIndex;
      switch (e.key) {
        case 'ArrowDown':
          i = i < 0 ? 0 : Math.min(n - 1, i + 1);
          break;
        case 'ArrowUp':
          i = i < 0 ? 0 : Math.max(0, i - 1);
          break;
        case 'Home':
          i = 0;
          break;
        case 'End':
          i = n - 1;
          break;
        case 'Enter':
        case ' ':
          e.preventDefault();
          if (i >= 0) this._select(i);
          return;
        default:
          return;
      }
      e.preventDefault();
      this._setActive(i, true);
    }

    _select(index) {
      const loc = this._results[index];
      if (!loc) return;
      this._setActive(index, false);
      if (loc.id === this._selectedId) return;
      this._selectedId = loc.id;
      this._input.value = loc.id;
      for (const opt of this._list.children) {
        opt.setAttribute('aria-selected', String(opt.dataset.index === String(index)));
      }
      this._renderMap();
      writeStored(loc.id, loc.name);
      this._emit(loc);
    }

    _emit(loc) {
      const { id, name, type, street, postcode, city } = loc;
      this.dispatchEvent(
        new CustomEvent(EVENT, { bubbles: true, composed: true, detail: { id, name, type, street, postcode, city } })
      );
    }

    /* ---------- map ---------- */

    _renderMap() {
      const t = this._t();
      const pts = [];
      this._results.forEach((loc, i) => {
        if (Number.isFinite(loc.lat) && Number.isFinite(loc.lon)) pts.push([i, ...project(loc.lon, loc.lat)]);
      });

      // View: the points' bounding box with padding, or the whole country.
      let x0, x1, y0, y1, size;
      if (pts.length) {
        x0 = Math.min(...pts.map((p) => p[1]));
        x1 = Math.max(...pts.map((p) => p[1]));
        y0 = Math.min(...pts.map((p) => p[2]));
        y1 = Math.max(...pts.map((p) => p[2]));
        size = Math.max(Math.max(x1 - x0, y1 - y0) * 1.5, MIN_VIEW);
      } else {
        [x0, y1] = project(FINLAND.minLon, FINLAND.minLat);
        [x1, y0] = project(FINLAND.maxLon, FINLAND.maxLat);
        size = Math.max(x1 - x0, y1 - y0) * 1.04;
      }
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      this._svg.setAttribute('viewBox', [cx - size / 2, cy - size / 2, size, size].map((v) => v.toFixed(2)).join(' '));
      const tiles = pts.length ? this._tileConfig : null; // the whole country stays an outline
      drawTiles(this._tiles, tiles, [cx - size / 2, cy - size / 2, size, size], project, unproject);
      this._attribution.textContent = tiles ? tiles.attribution || '' : '';
      this._attribution.hidden = !tiles || !tiles.attribution;

      const r = size * 0.022;
      const selected = this._selectedIndex();
      this._dots.replaceChildren();
      let selectedDot = null;
      for (const [i, x, y] of pts) {
        const loc = this._results[i];
        const dot = svgEl('circle', {
          class: i === selected ? 'lokero-pp-dot lokero-pp-dot-selected' : 'lokero-pp-dot',
          cx: x.toFixed(3),
          cy: y.toFixed(3),
          r: (i === selected ? r * 1.4 : r).toFixed(3),
          'data-index': String(i),
          'vector-effect': 'non-scaling-stroke',
        });
        const title = svgEl('title');
        title.textContent = loc.name || loc.id;
        dot.append(title);
        if (i === selected) selectedDot = dot;
        else this._dots.append(dot);
      }
      if (selectedDot) this._dots.append(selectedDot); // drawn last, on top

      let label = `${t.map}: ${t.count(this._results.length)}`;
      if (selected >= 0) label += `; ${t.selected}: ${this._results[selected].name || this._results[selected].id}`;
      this._svg.setAttribute('aria-label', label);
    }
  }

  customElements.define(TAG, LokeroPickupPoint);
})();
