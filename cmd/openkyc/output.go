package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// printer writes a command's results: JSON (one object per value, one per
// line) or, with -o table, an aligned table with a header row per kind of
// value. Values are the command's view structs, whose json tags name the
// columns.
type printer struct {
	w     io.Writer
	table bool
	tw    *tabwriter.Writer
	head  reflect.Type
	err   error
}

// emit writes one value.
func (p *printer) emit(v any) error {
	if p.err != nil {
		return p.err
	}
	if !p.table {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, p.err = p.w.Write(append(b, '\n'))
		return p.err
	}
	rv := reflect.Indirect(reflect.ValueOf(v))
	if p.tw == nil {
		p.tw = tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	}
	if p.head != rv.Type() {
		if p.head != nil {
			fmt.Fprintln(p.tw)
		}
		p.head = rv.Type()
		fmt.Fprintln(p.tw, strings.Join(columns(rv.Type()), "\t"))
	}
	cells := make([]string, 0, rv.NumField())
	for i := range rv.NumField() {
		if column(rv.Type().Field(i)) != "" {
			cells = append(cells, cell(rv.Field(i)))
		}
	}
	_, p.err = fmt.Fprintln(p.tw, strings.Join(cells, "\t"))
	return p.err
}

// flush ends the table.
func (p *printer) flush() error {
	if p.err == nil && p.tw != nil {
		p.err = p.tw.Flush()
	}
	return p.err
}

// columns returns the table header of a view type.
func columns(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if c := column(t.Field(i)); c != "" {
			out = append(out, strings.ToUpper(c))
		}
	}
	return out
}

// column is a field's column name: its json name ("" when not shown).
func column(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// cell formats one value for a table: times in RFC 3339, lists joined by
// commas, maps as sorted key=value pairs, "-" for nothing.
func cell(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "-"
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case time.Time:
		if x.IsZero() {
			return "-"
		}
		return x.UTC().Format(time.RFC3339)
	case string:
		if x == "" {
			return "-"
		}
		return strings.Join(strings.Fields(x), " ")
	case []string:
		if len(x) == 0 {
			return "-"
		}
		return strings.Join(x, ",")
	case map[string]int:
		if len(x) == 0 {
			return "-"
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, x[k]))
		}
		return strings.Join(parts, ",")
	case map[string]string:
		if len(x) == 0 {
			return "-"
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, k+"="+x[k])
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}
