package postcode

import (
	"bufio"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"github.com/lokero/lokero"
)

// bundled holds the embedded data files; data/README.md says where they
// come from and under which licences.
//
//go:embed data/fi-postcodes-posti-20240413.json.gz data/geonames-postal-FI.txt.gz data/geonames-postal-AX.txt.gz
var bundled embed.FS

// The embedded files.
const (
	bundledPostcodes = "data/fi-postcodes-posti-20240413.json.gz"
	bundledPointsFI  = "data/geonames-postal-FI.txt.gz"
	bundledPointsAX  = "data/geonames-postal-AX.txt.gz"
)

// GeoNamesAttribution is the attribution the licence (CC BY 4.0) of the
// bundled postal code points asks for: show it wherever the points are used.
const GeoNamesAttribution = "Postal code coordinates © GeoNames (https://www.geonames.org), CC BY 4.0."

// Bundled returns the bundled postal code file: Posti's PCF of 2024-04-13
// (5,033 codes), embedded gzip-compressed in its JSON form. It parses the
// file on every call; call it once at startup.
func Bundled() ([]lokero.Postcode, error) {
	var codes []lokero.Postcode
	err := readBundled(bundledPostcodes, func(r io.Reader) error {
		var err error
		codes, err = ParseJSON(r)
		return err
	})
	return codes, err
}

// BundledPoints returns a representative point for each postal code that
// GeoNames has (3,613 codes of Finland and Åland; no locker codes), from the
// embedded GeoNames postal code files. It parses them on every call.
func BundledPoints() (map[string]Point, error) {
	points := map[string]Point{}
	for _, name := range []string{bundledPointsFI, bundledPointsAX} {
		err := readBundled(name, func(r io.Reader) error {
			p, err := ParseGeoNames(r)
			if err != nil {
				return err
			}
			for code := range p {
				if _, dup := points[code]; dup {
					return fmt.Errorf("postal code %s is in two GeoNames files", code)
				}
			}
			maps.Copy(points, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return points, nil
}

// readBundled decompresses the embedded file name and hands it to parse.
func readBundled(name string, parse func(io.Reader) error) error {
	f, err := bundled.Open(name)
	if err != nil {
		return fmt.Errorf("open bundled %s: %w", name, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("decompress bundled %s: %w", name, err)
	}
	if err := parse(zr); err != nil {
		return fmt.Errorf("bundled %s: %w", name, err)
	}
	if err := zr.Close(); err != nil { // checks the gzip checksum
		return fmt.Errorf("decompress bundled %s: %w", name, err)
	}
	return nil
}

// ParseGeoNames reads a GeoNames postal code dump (FI.txt, AX.txt from
// download.geonames.org/export/zip): UTF-8, tab-separated, no header, one
// code a line with the columns country code, postal code, place name, admin
// name 1, admin code 1, admin name 2, admin code 2, admin name 3, admin code
// 3, latitude, longitude and accuracy. It returns each postal code's point.
// Blank lines are skipped; a malformed line or a code listed twice is an
// EINVALID *lokero.Error naming the line.
func ParseGeoNames(r io.Reader) (map[string]Point, error) {
	sc := bufio.NewScanner(r)
	points := map[string]Point{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 11 {
			return nil, fmt.Errorf("parse GeoNames: %w", lokero.Invalid("record", "malformed", "line %d: %d tab-separated columns, want at least 11", n, len(cols)))
		}
		code, err := Parse(cols[1])
		if err != nil {
			return nil, fmt.Errorf("parse GeoNames: %w", lokero.Invalid("postcode", "malformed", "line %d: %s", n, lokero.ErrorMessage(err)))
		}
		if _, dup := points[code]; dup {
			return nil, fmt.Errorf("parse GeoNames: %w", lokero.Invalid("postcode", "duplicate", "line %d: postal code %s appears twice", n, code))
		}
		lat, errLat := strconv.ParseFloat(strings.TrimSpace(cols[9]), 64)
		lon, errLon := strconv.ParseFloat(strings.TrimSpace(cols[10]), 64)
		if err := errors.Join(errLat, errLon); err != nil || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) { // NaN too
			return nil, fmt.Errorf("parse GeoNames: %w", lokero.Invalid("lat", "malformed", "line %d: %q, %q is not a latitude and longitude", n, cols[9], cols[10]))
		}
		points[code] = Point{Lat: lat, Lon: lon}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse GeoNames: read line %d: %w", n+1, err)
	}
	if len(points) == 0 {
		return nil, fmt.Errorf("parse GeoNames: %w", lokero.Invalid("file", "empty", "the GeoNames file has no records"))
	}
	return points, nil
}
