package report

import "reflect"

// Scrub passes every string of the report through redact (the plan's
// Redact, which replaces sensitive values with "(sensitive)"), so that no
// rendering can show one: renderers escape text for their format, and a
// secret escaped (a "<" as "&lt;" in HTML, "\u003c" in JSON) would slip
// past a redaction of the rendered bytes. Call it before writing.
func (r *Report) Scrub(redact func(string) string) {
	if redact != nil {
		scrub(reflect.ValueOf(r).Elem(), redact)
	}
}

func scrub(v reflect.Value, redact func(string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(redact(v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scrub(v.Elem(), redact)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scrub(v.Field(i), redact)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			scrub(v.Index(i), redact)
		}
	case reflect.Map:
		if v.IsNil() || !v.CanSet() {
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			k.Set(it.Key())
			e.Set(it.Value())
			scrub(k, redact)
			scrub(e, redact)
			out.SetMapIndex(k, e)
		}
		v.Set(out)
	}
}
