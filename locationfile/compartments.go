package locationfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lokero/lokero"
)

// ParseCompartments parses the compartments syntax of the CSV format:
//
//	S:70x40x10*20; M:70x40x20*10; L:70x40x40*4
//
// Classes are separated by ';'. Each class is its size name, ':', its
// length × width × height in whole centimetres joined by 'x' (or '×'), '*'
// and the number of compartments of that class. Two shorter forms are
// read too: a standard class (lokero.StandardCompartmentClasses: S, M, L)
// may leave out its dimensions ("S*20"), and the count may be written as a
// fourth 'x' term ("S:70x40x10x20"). The empty string gives no
// compartments.
func ParseCompartments(s string) ([]lokero.CompartmentClass, error) {
	var classes []lokero.CompartmentClass
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		c, err := parseCompartmentClass(part)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		classes = append(classes, c)
	}
	return classes, nil
}

func parseCompartmentClass(s string) (lokero.CompartmentClass, error) {
	const want = `want SIZE:LxWxH*COUNT (cm), e.g. "M:70x40x20*10", or "M*10" for a standard class`
	size, rest, hasDims := strings.Cut(s, ":")
	size = strings.TrimSpace(size)
	if size == "" {
		return lokero.CompartmentClass{}, fmt.Errorf("missing size name; %s", want)
	}
	if !hasDims {
		// "S*20": a standard class.
		name, count, ok := strings.Cut(size, "*")
		if !ok {
			return lokero.CompartmentClass{}, fmt.Errorf("missing count; %s", want)
		}
		name = strings.TrimSpace(name)
		for _, std := range lokero.StandardCompartmentClasses {
			if strings.EqualFold(std.Size, name) {
				n, err := parseCount(count)
				if err != nil {
					return lokero.CompartmentClass{}, err
				}
				std.Count = n
				return std, nil
			}
		}
		return lokero.CompartmentClass{}, fmt.Errorf("%q is not a standard class (%s): give its dimensions; %s", name, standardNames(), want)
	}
	var terms []string
	dims, count, hasCount := strings.Cut(rest, "*")
	terms = strings.FieldsFunc(dims, func(r rune) bool { return r == 'x' || r == 'X' || r == '×' })
	if !hasCount && len(terms) == 4 {
		count, terms = terms[3], terms[:3]
		hasCount = true
	}
	if len(terms) != 3 {
		return lokero.CompartmentClass{}, fmt.Errorf("want three dimensions; %s", want)
	}
	if !hasCount {
		return lokero.CompartmentClass{}, fmt.Errorf("missing count; %s", want)
	}
	var cm [3]int
	for i, t := range terms {
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil {
			return lokero.CompartmentClass{}, fmt.Errorf("dimension %q is not a whole number of centimetres; %s", strings.TrimSpace(t), want)
		}
		cm[i] = n
	}
	n, err := parseCount(count)
	if err != nil {
		return lokero.CompartmentClass{}, err
	}
	return lokero.CompartmentClass{Size: size, LengthCM: cm[0], WidthCM: cm[1], HeightCM: cm[2], Count: n}, nil
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("count %q is not a whole number", strings.TrimSpace(s))
	}
	return n, nil
}

func standardNames() string {
	names := make([]string, len(lokero.StandardCompartmentClasses))
	for i, c := range lokero.StandardCompartmentClasses {
		names[i] = c.Size
	}
	return strings.Join(names, ", ")
}

// FormatCompartments writes compartment classes in the full form
// ParseCompartments reads: "S:70x40x10*20; M:70x40x20*10".
func FormatCompartments(classes []lokero.CompartmentClass) string {
	parts := make([]string, len(classes))
	for i, c := range classes {
		parts[i] = fmt.Sprintf("%s:%dx%dx%d*%d", c.Size, c.LengthCM, c.WidthCM, c.HeightCM, c.Count)
	}
	return strings.Join(parts, "; ")
}
