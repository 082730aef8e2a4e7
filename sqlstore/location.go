package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

const locationColumns = `id, type, name, street, postcode, city, lat, lon, opening_hours,
	access, payment_terminal, wheelchair_access, compartments, created_at, updated_at, street_sv,
	status, status_from, status_until, status_reason, opens_on, exception_days, functions,
	max_length_cm, max_width_cm, max_height_cm, max_weight_kg, shelf_capacity`

// locationArgs is how many arguments one location's row takes in
// upsertLocationsSQL: locationColumns, then event_seq.
const locationArgs = 29

// upsertLocationsSQL writes a chunk of rows (its VALUES follow) and
// returns each one's event_seq: 1 for a new row; bumped by one when an
// update changes the status fields (lokero.LocationChange), so that the
// event of that Seq is then appended.
const upsertLocationsSQL = `INSERT INTO locations (` + locationColumns + `, event_seq) VALUES %s
ON CONFLICT (id) DO UPDATE SET
	type = excluded.type, name = excluded.name, street = excluded.street,
	postcode = excluded.postcode, city = excluded.city, lat = excluded.lat, lon = excluded.lon,
	opening_hours = excluded.opening_hours, access = excluded.access,
	payment_terminal = excluded.payment_terminal, wheelchair_access = excluded.wheelchair_access,
	compartments = excluded.compartments, updated_at = excluded.updated_at, street_sv = excluded.street_sv,
	status = excluded.status, status_from = excluded.status_from, status_until = excluded.status_until,
	status_reason = excluded.status_reason, opens_on = excluded.opens_on,
	exception_days = excluded.exception_days, functions = excluded.functions,
	max_length_cm = excluded.max_length_cm, max_width_cm = excluded.max_width_cm,
	max_height_cm = excluded.max_height_cm, max_weight_kg = excluded.max_weight_kg,
	shelf_capacity = excluded.shelf_capacity,
	event_seq = locations.event_seq + CASE WHEN
		locations.status IS DISTINCT FROM excluded.status OR
		locations.status_from IS DISTINCT FROM excluded.status_from OR
		locations.status_until IS DISTINCT FROM excluded.status_until OR
		locations.status_reason IS DISTINCT FROM excluded.status_reason OR
		locations.opens_on IS DISTINCT FROM excluded.opens_on OR
		locations.exception_days IS DISTINCT FROM excluded.exception_days OR
		locations.wheelchair_access IS DISTINCT FROM excluded.wheelchair_access OR
		locations.functions IS DISTINCT FROM excluded.functions
		THEN 1 ELSE 0 END
RETURNING id, event_seq`

// updateLocationSQL writes every column of a location but id and
// created_at, bumps its event_seq and returns it: the Seq of the event to
// append.
const updateLocationSQL = `UPDATE locations SET
	type = $2, name = $3, street = $4, postcode = $5, city = $6, lat = $7, lon = $8,
	opening_hours = $9, access = $10, payment_terminal = $11, wheelchair_access = $12,
	compartments = $13, updated_at = $14, street_sv = $15,
	status = $16, status_from = $17, status_until = $18, status_reason = $19, opens_on = $20,
	exception_days = $21, functions = $22, max_length_cm = $23, max_width_cm = $24,
	max_height_cm = $25, max_weight_kg = $26, shelf_capacity = $27, event_seq = event_seq + 1
WHERE id = $1
RETURNING event_seq`

// insertEventsSQL appends location events (its VALUES follow), each
// unless its Seq exists already: the upsert left the row's status fields
// as they were. Every writer of a location's events holds its row's lock,
// so the statement cannot race another writer.
const insertEventsSQL = `INSERT INTO location_events (location_id, seq, at, actor, change) VALUES %s
ON CONFLICT (location_id, seq) DO NOTHING
RETURNING seq`

// locationRow returns the arguments of a location's row (locationColumns).
func (db *DB) locationRow(l *lokero.Location, created, updated time.Time) ([]any, error) {
	var enc [4]string
	for i, v := range []any{emptyIfNil(l.OpeningHours), emptyIfNil(l.Compartments),
		emptyIfNil(l.ExceptionDays), emptyIfNil(l.Functions)} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode location %s: %w", l.ID, err)
		}
		enc[i] = string(b)
	}
	return []any{l.ID, string(l.Type), l.Name, l.Street, l.Postcode, l.City, l.Lat, l.Lon,
		enc[0], string(l.Access), l.PaymentTerminal, l.WheelchairAccess, enc[1],
		db.time(created), db.time(updated), l.StreetSV, string(l.Status), l.StatusFrom, l.StatusUntil,
		l.StatusReason, l.OpensOn, enc[2], enc[3],
		l.MaxParcel.LengthCM, l.MaxParcel.WidthCM, l.MaxParcel.HeightCM, l.MaxParcel.WeightKG, l.ShelfCapacity}, nil
}

// UpsertLocations inserts new locations and updates existing ones by ID, in
// one transaction. On update the stored created_at is kept. updated_at is
// loc.UpdatedAt; when that is zero, loc.CreatedAt; when both are zero, the
// store's time. A new location's created_at is loc.CreatedAt, or
// updated_at when zero. Times are stored to the microsecond.
//
// Every inserted location, and every updated one whose status fields
// (Change) differ from the stored ones, gets an event by lokero.ActorImport
// at its updated_at.
//
// Rows are written in ID order, so that concurrent upserts lock rows in
// the same order and cannot deadlock, a chunk of rows per statement; a
// batch that repeats an ID is applied in its given order, the later row
// updating the earlier one.
func (db *DB) UpsertLocations(ctx context.Context, locs []lokero.Location) (res lokero.UpsertResult, err error) {
	return db.UpsertLocationsKeeping(ctx, locs, nil)
}

// UpsertLocationsKeeping is UpsertLocations that first reads, in the same
// transaction and locked until it ends, the stored rows of locs and calls
// keep(i, stored) for each locs[i] that has one, so that keep decides from
// the row it overwrites (an operator's PATCH committed a moment before the
// import is seen, not undone). keep must not change locs[i].ID; its error
// rolls everything back and is returned as it is. A nil keep reads
// nothing.
func (db *DB) UpsertLocationsKeeping(ctx context.Context, locs []lokero.Location, keep func(i int, stored *lokero.Location) error) (res lokero.UpsertResult, err error) {
	if len(locs) == 0 {
		return res, ctx.Err()
	}
	order := make([]int, len(locs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(locs[i].ID, locs[j].ID) })
	chunkSize := db.dialect.MaxArgs() / locationArgs

	err = db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		res = lokero.UpsertResult{}
		if err := bumpDirectory(ctx, tx); err != nil {
			return err
		}
		if keep != nil {
			if err := db.keepStored(ctx, tx, locs, order, keep); err != nil {
				return err
			}
		}
		var chunk []*lokero.Location
		for k, i := range order {
			l := &locs[i]
			chunk = append(chunk, l)
			// One statement cannot touch a row twice: a repeated ID (adjacent
			// after the stable sort) starts a new chunk.
			last := k == len(order)-1
			if last || len(chunk) == chunkSize || locs[order[k+1]].ID == l.ID {
				if err := db.upsertChunk(ctx, tx, chunk, now, &res); err != nil {
					return fmt.Errorf("upsert locations from %s: %w", chunk[0].ID, err)
				}
				chunk = chunk[:0]
			}
		}
		return nil
	})
	if err != nil {
		return lokero.UpsertResult{}, err
	}
	return res, nil
}

// keepStored reads the stored rows of locs (order sorts them by ID)
// locked, and calls keep for each location that has one: a repeated ID
// gets a copy of the same stored row each time.
func (db *DB) keepStored(ctx context.Context, tx *sql.Tx, locs []lokero.Location, order []int, keep func(i int, stored *lokero.Location) error) error {
	ids := make([]any, 0, len(order))
	for k, i := range order {
		if k == 0 || locs[order[k-1]].ID != locs[i].ID {
			ids = append(ids, locs[i].ID)
		}
	}
	stored := make(map[string]lokero.Location, len(ids))
	for chunk := range slices.Chunk(ids, db.dialect.MaxArgs()) {
		// In ID order, as the upsert then writes them.
		rows, err := queryAll(ctx, tx, scanLocation, `SELECT `+locationColumns+` FROM locations WHERE id IN `+
			db.placeholders(1, len(chunk))+` ORDER BY id`+db.dialect.ForUpdate(), chunk...)
		if err != nil {
			return fmt.Errorf("read stored locations from %s: %w", chunk[0], err)
		}
		for _, l := range rows {
			stored[l.ID] = l
		}
	}
	for _, i := range order {
		l, ok := stored[locs[i].ID]
		if !ok {
			continue
		}
		id := locs[i].ID
		l = cloneLocation(l)
		if err := keep(i, &l); err != nil {
			return err
		}
		if locs[i].ID != id {
			return fmt.Errorf("upsert locations: keep changed the ID of %s to %s", id, locs[i].ID)
		}
	}
	return nil
}

// cloneLocation returns l with copies of its slices.
func cloneLocation(l lokero.Location) lokero.Location {
	l.OpeningHours = slices.Clone(l.OpeningHours)
	l.Compartments = slices.Clone(l.Compartments)
	l.ExceptionDays = slices.Clone(l.ExceptionDays)
	l.Functions = slices.Clone(l.Functions)
	return l
}

// upsertChunk writes a chunk of distinct locations and their events, and
// counts them in res: a location whose first event it appended is new.
func (db *DB) upsertChunk(ctx context.Context, tx *sql.Tx, chunk []*lokero.Location, now time.Time, res *lokero.UpsertResult) error {
	args := make([]any, 0, len(chunk)*locationArgs)
	values := make([]string, len(chunk))
	updated := make(map[string]time.Time, len(chunk))
	changes := make(map[string]string, len(chunk))
	for i, l := range chunk {
		created, up := rowTimes(l, now)
		row, err := db.locationRow(l, created, up)
		if err != nil {
			return err
		}
		change, err := json.Marshal(l.Change())
		if err != nil {
			return fmt.Errorf("encode change of %s: %w", l.ID, err)
		}
		args = append(append(args, row...), 1)
		values[i] = db.placeholders(i*locationArgs+1, locationArgs)
		updated[l.ID], changes[l.ID] = up, string(change)
	}
	type seq struct {
		id  string
		seq int
	}
	seqs, err := queryAll(ctx, tx, func(r scanner) (s seq, err error) {
		return s, r.Scan(&s.id, &s.seq)
	}, fmt.Sprintf(upsertLocationsSQL, strings.Join(values, ", ")), args...)
	if err != nil {
		return err
	}
	args, values = args[:0], values[:0]
	for _, s := range seqs {
		if s.seq == 0 { // unchanged since before events were kept
			continue
		}
		args = append(args, s.id, s.seq, db.time(updated[s.id]), lokero.ActorImport, changes[s.id])
		values = append(values, db.placeholders(len(values)*5+1, 5))
	}
	var firsts int
	if len(values) > 0 {
		appended, err := queryAll(ctx, tx, func(r scanner) (n int, err error) { return n, r.Scan(&n) },
			fmt.Sprintf(insertEventsSQL, strings.Join(values, ", ")), args...)
		if err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		for _, n := range appended {
			if n == 1 {
				firsts++
			}
		}
	}
	res.Inserted += firsts
	res.Updated += len(seqs) - firsts
	return nil
}

// rowTimes returns the created_at and updated_at to store for l.
func rowTimes(l *lokero.Location, now time.Time) (created, updated time.Time) {
	created, updated = l.CreatedAt, l.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	if updated.IsZero() {
		updated = now
	}
	if created.IsZero() {
		created = updated
	}
	return created, updated
}

// UpdateLocation writes loc, which must exist (ENOTFOUND otherwise; its
// stored created_at is kept), and appends ev, in one transaction. ev's
// LocationID is loc.ID and its Seq the location's next; a zero ev.At is
// the updated_at, a zero ev.Change is loc.Change(). updated_at is
// loc.UpdatedAt, or ev.At, or the store's time.
func (db *DB) UpdateLocation(ctx context.Context, loc lokero.Location, ev lokero.LocationEvent) error {
	return db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := bumpDirectory(ctx, tx); err != nil {
			return err
		}
		return db.updateLocation(ctx, tx, now, &loc, ev)
	})
}

// errUnchanged rolls back a PatchLocation whose patch changed nothing:
// the directory's version it raised first goes back with it.
var errUnchanged = errors.New("location unchanged")

// PatchLocation reads the location locked (FOR UPDATE on PostgreSQL; on
// SQLite the write transaction holds the database), calls patch with a
// copy and, when it reports a change, writes the result and appends ev,
// all in one transaction (lokero.LocationStore). A patch that changes
// nothing rolls back and returns the row as read.
func (db *DB) PatchLocation(ctx context.Context, id string, patch func(loc *lokero.Location) (bool, lokero.LocationEvent, error)) (lokero.Location, error) {
	var out lokero.Location
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		// The directory's version first, as every writer of locations
		// takes it (bumpDirectory), and only then the row.
		if err := bumpDirectory(ctx, tx); err != nil {
			return err
		}
		cur, err := scanLocation(tx.QueryRowContext(ctx,
			`SELECT `+locationColumns+` FROM locations WHERE id = $1`+db.dialect.ForUpdate(), id))
		if err != nil {
			return notFound(err, "patch location "+id, "location %q not found", id)
		}
		loc := cloneLocation(cur)
		changed, ev, err := patch(&loc)
		if err != nil {
			return err
		}
		if !changed {
			out = cur
			return errUnchanged
		}
		loc.ID, loc.CreatedAt = cur.ID, cur.CreatedAt // the patch moves neither
		if err := db.updateLocation(ctx, tx, now, &loc, ev); err != nil {
			return err
		}
		out = loc
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return out, nil
	}
	if err != nil {
		return lokero.Location{}, err
	}
	return out, nil
}

// updateLocation writes *loc in tx and appends ev (UpdateLocation), and
// sets loc.UpdatedAt to the updated_at it stored.
func (db *DB) updateLocation(ctx context.Context, tx *sql.Tx, now time.Time, loc *lokero.Location, ev lokero.LocationEvent) error {
	updated := cmp.Or(loc.UpdatedAt, ev.At, now)
	row, err := db.locationRow(loc, time.Time{}, updated)
	if err != nil {
		return err
	}
	ev.LocationID, ev.At = loc.ID, cmp.Or(ev.At, updated)
	if ev.Change.IsZero() {
		ev.Change = loc.Change()
	}
	change, err := json.Marshal(ev.Change)
	if err != nil {
		return fmt.Errorf("update location %s: encode change: %w", loc.ID, err)
	}
	row = slices.Delete(row, 13, 14) // created_at stays
	if err := tx.QueryRowContext(ctx, updateLocationSQL, row...).Scan(&ev.Seq); err != nil {
		return notFound(err, "update location "+loc.ID, "location %q not found", loc.ID)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(insertEventsSQL, db.placeholders(1, 5)),
		ev.LocationID, ev.Seq, db.time(ev.At), ev.Actor, string(change)); err != nil {
		return fmt.Errorf("update location %s: append event %d: %w", loc.ID, ev.Seq, err)
	}
	loc.UpdatedAt = updated
	return nil
}

// LocationEvents lists a location's events, oldest first: an empty list
// when it has none, ENOTFOUND when there is no such location.
func (db *DB) LocationEvents(ctx context.Context, id string) ([]lokero.LocationEvent, error) {
	evs, err := queryAll(ctx, db.db, func(r scanner) (lokero.LocationEvent, error) {
		ev := lokero.LocationEvent{LocationID: id}
		var change string
		if err := r.Scan(&ev.Seq, scanTime{&ev.At}, &ev.Actor, &change); err != nil {
			return ev, err
		}
		if err := json.Unmarshal([]byte(change), &ev.Change); err != nil {
			return ev, fmt.Errorf("event %d: decode change: %w", ev.Seq, err)
		}
		return ev, nil
	}, `SELECT seq, at, actor, change FROM location_events WHERE location_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("location %s: events: %w", id, err)
	}
	if len(evs) == 0 {
		var one int
		if err := db.db.QueryRowContext(ctx, `SELECT 1 FROM locations WHERE id = $1`, id).Scan(&one); err != nil {
			return nil, notFound(err, "location "+id+": events", "location %q not found", id)
		}
		evs = []lokero.LocationEvent{}
	}
	return evs, nil
}

func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeSlice decodes a JSON array column; an empty array is nil.
func decodeSlice[T any](s string, dst *[]T, what string) error {
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if len(*dst) == 0 {
		*dst = nil
	}
	return nil
}

func scanLocation(row scanner) (lokero.Location, error) {
	var (
		l                              lokero.Location
		typ, access, status            string
		hours, comps, exceptions, funs string
	)
	if err := row.Scan(&l.ID, &typ, &l.Name, &l.Street, &l.Postcode, &l.City, &l.Lat, &l.Lon,
		&hours, &access, &l.PaymentTerminal, &l.WheelchairAccess, &comps,
		scanTime{&l.CreatedAt}, scanTime{&l.UpdatedAt}, &l.StreetSV,
		&status, &l.StatusFrom, &l.StatusUntil, &l.StatusReason, &l.OpensOn, &exceptions, &funs,
		&l.MaxParcel.LengthCM, &l.MaxParcel.WidthCM, &l.MaxParcel.HeightCM, &l.MaxParcel.WeightKG,
		&l.ShelfCapacity); err != nil {
		return l, err
	}
	l.Type, l.Access, l.Status = lokero.LocationType(typ), lokero.Access(access), lokero.LocationStatus(status)
	for _, err := range []error{
		decodeSlice(hours, &l.OpeningHours, "opening hours"),
		decodeSlice(comps, &l.Compartments, "compartments"),
		decodeSlice(exceptions, &l.ExceptionDays, "exception days"),
		decodeSlice(funs, &l.Functions, "functions"),
	} {
		if err != nil {
			return l, fmt.Errorf("location %s: %w", l.ID, err)
		}
	}
	return l, nil
}

// Location returns the location with the given ID, or an ENOTFOUND error.
func (db *DB) Location(ctx context.Context, id string) (lokero.Location, error) {
	l, err := scanLocation(db.db.QueryRowContext(ctx,
		`SELECT `+locationColumns+` FROM locations WHERE id = $1`, id))
	if err != nil {
		return lokero.Location{}, notFound(err, "location "+id, "location %q not found", id)
	}
	return l, nil
}

// Locations returns every location, ordered by ID (byte order).
func (db *DB) Locations(ctx context.Context) ([]lokero.Location, error) {
	locs, err := queryAll(ctx, db.db, scanLocation, `SELECT `+locationColumns+` FROM locations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	return locs, nil
}

// CountLocations returns how many locations there are.
func (db *DB) CountLocations(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM locations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count locations: %w", err)
	}
	return n, nil
}

// bumpDirectory raises the directory's version first thing in a
// transaction that writes locations. The triggers raise it again with
// every write (and alone for writers other than this store), but on
// PostgreSQL a trigger takes the version's row after the locations' rows:
// two transactions each holding rows the other wants next would deadlock.
// Taken first, it makes the store's writers of locations queue instead.
func bumpDirectory(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE directory_version SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("directory version: %w", err)
	}
	return nil
}

// DirectoryVersion returns the directory's version, which the triggers of
// migration 00020 raise on every write to locations.
func (db *DB) DirectoryVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.db.QueryRowContext(ctx, `SELECT version FROM directory_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("directory version: %w", err)
	}
	return v, nil
}

const postcodeColumns = `code, kind, type_code, name_fi, name_sv, abbr_fi, abbr_sv, valid_from,
	area_code, area_fi, area_sv, municipality_code, municipality_fi, municipality_sv,
	language_ratio_code, file_date`

// postcodeArgs is how many columns a postal code has.
const postcodeArgs = 16

// ReplacePostcodes replaces the whole registry in one transaction.
// Concurrent replacements run one after the other; readers see the old
// registry until the commit.
func (db *DB) ReplacePostcodes(ctx context.Context, codes []lokero.Postcode) error {
	err := db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		if err := db.dialect.Lock(ctx, tx, "postcodes"); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM postcodes`); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		for chunk := range slices.Chunk(codes, db.dialect.MaxArgs()/postcodeArgs) {
			args := make([]any, 0, len(chunk)*postcodeArgs)
			values := make([]string, len(chunk))
			for i, p := range chunk {
				args = append(args, p.Code, string(p.Kind), p.TypeCode, p.NameFI, p.NameSV,
					p.AbbrFI, p.AbbrSV, p.ValidFrom, p.AreaCode, p.AreaFI, p.AreaSV, p.MunicipalityCode,
					p.MunicipalityFI, p.MunicipalitySV, p.LanguageRatioCode, p.FileDate)
				values[i] = db.placeholders(i*postcodeArgs+1, postcodeArgs)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO postcodes (`+postcodeColumns+`) VALUES `+
				strings.Join(values, ", "), args...); err != nil {
				return fmt.Errorf("insert from %s: %w", chunk[0].Code, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace postcodes: %w", err)
	}
	return nil
}

// Postcodes returns every postal code, ordered by code.
func (db *DB) Postcodes(ctx context.Context) ([]lokero.Postcode, error) {
	codes, err := queryAll(ctx, db.db, func(r scanner) (lokero.Postcode, error) {
		var p lokero.Postcode
		var kind string
		err := r.Scan(&p.Code, &kind, &p.TypeCode, &p.NameFI, &p.NameSV, &p.AbbrFI, &p.AbbrSV,
			&p.ValidFrom, &p.AreaCode, &p.AreaFI, &p.AreaSV, &p.MunicipalityCode, &p.MunicipalityFI,
			&p.MunicipalitySV, &p.LanguageRatioCode, &p.FileDate)
		p.Kind = lokero.PostcodeKind(kind)
		return p, err
	}, `SELECT `+postcodeColumns+` FROM postcodes ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("postcodes: %w", err)
	}
	return codes, nil
}
