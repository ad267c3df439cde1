package plans

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// MaxNesting is how deeply drplan lets a file it parses (a plan file, a
// -var-file, a -var value, a string given to jsondecode) nest: brackets,
// braces, parentheses and template interpolations, runs of unary
// operators (!!!x, - - -x). HCL's parsers, native and JSON, and cty's
// JSON decoder read each level by recursion, so a file of a few megabytes
// of "[[[[" would exhaust the stack, which in Go is a crash with a stack
// trace, not an error. Real plans nest a few levels; 1,000 leaves room
// for generated ones and keeps the stack small.
const MaxNesting = 1000

// MaxOperators is how many operators one expression may chain
// (a + b + …, a && b && …, a ? b : c ? …): HCL evaluates such a chain by
// recursion too. The operator characters of strings count as well (this
// is a byte scan), hence a limit far above any real expression.
const MaxOperators = 20000

// CheckNesting refuses src, from the file (or flag) named filename, when
// it nests deeper than MaxNesting, with an error at the first byte past
// the limit.
func CheckNesting(src []byte, filename string) hcl.Diagnostics {
	pos, what, deep := tooDeep(src)
	if !deep {
		return nil
	}
	end := pos
	end.Column++
	end.Byte++
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Nesting too deep",
		Detail: fmt.Sprintf("At column %d the text holds %s, more than the %d levels drplan reads: HCL reads each level by recursion, and no plan needs this many. Flatten the expression (a local value for an inner part), or check that this is the file you meant.",
			pos.Column, what, MaxNesting),
		Subject: &hcl.Range{Filename: filename, Start: pos, End: end},
	}}
}

// tooDeep finds the first byte of src past MaxNesting levels and says
// what nests there. It reads bytes, not tokens, so that it costs no
// memory and runs before any parser: brackets inside strings and
// comments count too, which only a text with a thousand unclosed
// brackets would notice.
func tooDeep(src []byte) (at hcl.Pos, what string, deep bool) {
	// open holds, per bracket open, its kind and the operators of the
	// element around it; operators counts those of the element now read,
	// until a comma, or a newline where newlines end an element (outside
	// brackets, and in braces).
	type level struct {
		bracket   byte
		operators int
	}
	var open []level
	run, operators := 0, 0
	pos := hcl.Pos{Line: 1, Column: 1}
	for i, b := range src {
		switch b {
		case '[', '{', '(':
			open = append(open, level{b, operators})
			operators = 0
		case ']', '}', ')':
			if len(open) > 0 {
				operators = open[len(open)-1].operators
				open = open[:len(open)-1]
			}
		case '?', '+', '-', '*', '/', '%', '<', '>', '=', '!', '&', '|':
			operators++
		case ',':
			operators = 0
		case '\n':
			if len(open) == 0 || open[len(open)-1].bracket == '{' {
				operators = 0
			}
		}
		switch b {
		case '!', '-':
			run++
		case ' ', '\t':
		default:
			run = 0
		}
		switch {
		case len(open) > MaxNesting:
			return pos, fmt.Sprintf("%d brackets, braces, parentheses or interpolations open at once", len(open)), true
		case run > MaxNesting:
			return pos, fmt.Sprintf("a run of %d unary operators (! or -)", run), true
		case operators > MaxOperators:
			return pos, fmt.Sprintf("an expression of over %d operators", MaxOperators), true
		}
		pos.Byte = i + 1
		switch {
		case b == '\n':
			pos.Line++
			pos.Column = 1
		case i+1 < len(src) && src[i+1]&0xC0 != 0x80:
			pos.Column++ // columns count characters, not UTF-8 bytes
		}
	}
	return pos, "", false
}
