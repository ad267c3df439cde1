package plans

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"

	"github.com/apparentlymart/go-cidr/cidr"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions returns the function table of the plan language. Relative
// paths given to file() are taken from dir.
func functions(dir string) map[string]function.Function {
	return map[string]function.Function{
		"abs":          stdlib.AbsoluteFunc,
		"can":          tryfunc.CanFunc,
		"ceil":         stdlib.CeilFunc,
		"cidrhost":     cidrHostFunc,
		"cidrnetmask":  cidrNetmaskFunc,
		"cidrsubnet":   cidrSubnetFunc,
		"coalesce":     stdlib.CoalesceFunc,
		"coalescelist": stdlib.CoalesceListFunc,
		"concat":       stdlib.ConcatFunc,
		"contains":     stdlib.ContainsFunc,
		"distinct":     stdlib.DistinctFunc,
		"element":      stdlib.ElementFunc,
		"env":          envFunc,
		"file":         fileFunc(dir),
		"flatten":      stdlib.FlattenFunc,
		"floor":        stdlib.FloorFunc,
		"format":       stdlib.FormatFunc,
		"formatlist":   stdlib.FormatListFunc,
		"join":         stdlib.JoinFunc,
		"jsondecode":   jsonDecodeFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"keys":         stdlib.KeysFunc,
		"length":       lengthFunc,
		"lookup":       stdlib.LookupFunc,
		"lower":        stdlib.LowerFunc,
		"max":          stdlib.MaxFunc,
		"merge":        stdlib.MergeFunc,
		"min":          stdlib.MinFunc,
		"range":        stdlib.RangeFunc,
		"regex":        stdlib.RegexFunc,
		"regexall":     stdlib.RegexAllFunc,
		"replace":      stdlib.ReplaceFunc,
		"reverse":      stdlib.ReverseListFunc,
		"setunion":     stdlib.SetUnionFunc,
		"slice":        stdlib.SliceFunc,
		"sort":         stdlib.SortFunc,
		"split":        stdlib.SplitFunc,
		"substr":       stdlib.SubstrFunc,
		"title":        stdlib.TitleFunc,
		"tolist":       stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":        stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":     stdlib.MakeToFunc(cty.Number),
		"toset":        stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":     stdlib.MakeToFunc(cty.String),
		"trimspace":    stdlib.TrimSpaceFunc,
		"try":          tryfunc.TryFunc,
		"upper":        stdlib.UpperFunc,
		"values":       stdlib.ValuesFunc,
		"zipmap":       stdlib.ZipmapFunc,
	}
}

// lengthFunc is Terraform's length: characters of a string, elements of a
// collection or structure.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		switch ty := v.Type(); {
		case ty == cty.String:
			return stdlib.Strlen(v)
		case ty.IsCollectionType() || ty.IsTupleType() || ty.IsObjectType():
			return cty.NumberIntVal(int64(v.LengthInt())), nil
		default:
			return cty.UnknownVal(cty.Number), fmt.Errorf("length needs a string, list, set, map or object, not %s", ty.FriendlyName())
		}
	},
})

// envFunc returns an environment variable, or "" when it is unset.
var envFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "name", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(os.Getenv(args[0].AsString())), nil
	},
})

// fileFunc reads a file relative to the plan directory: a regular file (or
// a symbolic link to one) of at most MaxFileSize bytes. Anything else is an
// error at the call.
func fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := ReadFile(p)
			var fe *FileError
			switch {
			case errors.As(err, &fe) && fe.TooLarge():
				return cty.UnknownVal(cty.String), fmt.Errorf("%s is %s; file() reads files of at most %s", args[0].AsString(), fe.sizeText(), sizeText(MaxFileSize))
			case errors.As(err, &fe):
				return cty.UnknownVal(cty.String), fmt.Errorf("%s is %s; file() reads only regular files (a symbolic link to one is fine)", args[0].AsString(), fe.What)
			case err != nil:
				return cty.UnknownVal(cty.String), fmt.Errorf("cannot read %s: %v", args[0].AsString(), unwrapPathErr(err))
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func parseCIDRArg(v cty.Value) (*net.IPNet, error) {
	_, n, err := net.ParseCIDR(v.AsString())
	if err != nil {
		return nil, fmt.Errorf("%q is not a CIDR prefix such as \"10.1.0.0/16\"", v.AsString())
	}
	return n, nil
}

var cidrHostFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		n, err := parseCIDRArg(args[0])
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgError(0, err)
		}
		num, _ := args[1].AsBigFloat().Int(nil)
		ip, err := cidr.HostBig(n, num)
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgError(1, err)
		}
		return cty.StringVal(ip.String()), nil
	},
})

var cidrSubnetFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "newbits", Type: cty.Number}, {Name: "netnum", Type: cty.Number}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		n, err := parseCIDRArg(args[0])
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgError(0, err)
		}
		bits, acc := args[1].AsBigFloat().Int64()
		if acc != big.Exact || bits < 0 || bits > 128 {
			return cty.UnknownVal(cty.String), function.NewArgError(1, fmt.Errorf("newbits must be a whole number from 0 to 128"))
		}
		num, _ := args[2].AsBigFloat().Int(nil)
		sub, err := cidr.SubnetBig(n, int(bits), num)
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgError(2, err)
		}
		return cty.StringVal(sub.String()), nil
	},
})

var cidrNetmaskFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		n, err := parseCIDRArg(args[0])
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgError(0, err)
		}
		if n.IP.To4() == nil {
			return cty.UnknownVal(cty.String), function.NewArgError(0, fmt.Errorf("cidrnetmask needs an IPv4 prefix"))
		}
		return cty.StringVal(net.IP(n.Mask).String()), nil
	},
})

// jsonDecodeFunc is cty's jsondecode refusing JSON nested deeper than
// MaxNesting: its decoder recurses once per level, and a file() of a few
// megabytes of "[" would crash drplan with a stack overflow.
var jsonDecodeFunc = function.New(&function.Spec{
	Params: stdlib.JSONDecodeFunc.Params(),
	Type: func(args []cty.Value) (cty.Type, error) {
		if v := args[0]; v.IsKnown() && !v.IsNull() {
			if at, what, deep := tooDeep([]byte(v.AsString())); deep {
				return cty.NilType, function.NewArgErrorf(0, "the JSON nests deeper than %d levels: at line %d, column %d it holds %s; no plan needs this many", MaxNesting, at.Line, at.Column, what)
			}
		}
		return stdlib.JSONDecodeFunc.ReturnTypeForValues(args)
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return stdlib.JSONDecodeFunc.Call(args)
	},
})
