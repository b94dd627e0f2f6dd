package instagram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Instagram is loose with JSON types: ids come as numbers above 2^53 or as
// strings, permissions as an array or a comma-separated string, counts as
// numbers or strings. These types accept every form without going through
// float64.

var integerRE = regexp.MustCompile(`^-?[0-9]+$`)

// flexID is an id that may arrive as a JSON string or number; a number is
// kept digit for digit (17841405793187218 would become ...216 as float64).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(strings.TrimSpace(s))
	case integerRE.Match(b):
		*f = flexID(b)
	default:
		return errors.New("id is neither a string nor an integer")
	}
	return nil
}

// flexList is a list of strings sent as an array or as "a,b,c".
type flexList []string

func (f *flexList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = nil
		return nil
	}
	var raw []string
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		raw = strings.Split(s, ",")
	} else if err := json.Unmarshal(b, &raw); err != nil {
		return errors.New("expected a string or an array of strings")
	}
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	*f = out
	return nil
}

// flexInt is an integer sent as a number or a numeric string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	// 5183944.0 or 5.183944e6: accept, but only when it fits.
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.Abs(x) > 1<<53 {
		return errors.New("value is not an integer")
	}
	*f = flexInt(x)
	return nil
}

// optCount is a count Instagram may leave out or send as null (withheld):
// n is nil then, which is not 0. A value that is no count (negative, not
// a number) counts as withheld too, rather than failing the page: one odd
// post should not stop a sync.
type optCount struct{ n *int }

func (c *optCount) UnmarshalJSON(b []byte) error {
	var f flexInt
	if string(bytes.TrimSpace(b)) == "null" || f.UnmarshalJSON(b) != nil || f < 0 {
		c.n = nil
		return nil
	}
	n := clampInt(f)
	c.n = &n
	return nil
}

// flexTime parses Instagram's "2006-01-02T15:04:05-0700" (which RFC 3339
// refuses because of the missing colon) and RFC 3339 as well. An unparsable
// timestamp becomes the zero time rather than failing the whole page: one
// odd post should not stop a gallery sync.
type flexTime time.Time

var timeLayouts = []string{"2006-01-02T15:04:05-0700", time.RFC3339Nano, "2006-01-02T15:04:05"}

func (f *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		*f = flexTime{}
		return nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			*f = flexTime(t.UTC())
			return nil
		}
	}
	*f = flexTime{}
	return nil
}

// decodeJSON decodes a whole body into v, refusing trailing garbage.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if dec.More() {
		return errors.New("trailing data after JSON")
	}
	return nil
}

// describeJSONError keeps only the shape of a decoding error: encoding/json
// messages can quote input, and the input may hold a token.
func describeJSONError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("not JSON (syntax error at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %q has JSON type %s", te.Field, te.Value)
	case errors.Is(err, io.EOF):
		return errors.New("empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated JSON")
	default:
		return errors.New(shorten(scrubText(err.Error(), nil), 120))
	}
}
