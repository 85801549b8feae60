package zconfig

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// TranslateWithHCLWrite is Translate with its items written by hclwrite,
// as the translation wrote them before it wrote HCL itself
// (hclwrite.Format of an hclwrite.File): the layout render must keep.
// It returns nil when the translation has errors.
func TranslateWithHCLWrite(doc *Document) []byte {
	t := translate(doc)
	if t.diags.HasErrors() {
		return nil
	}
	f := hclwrite.NewEmptyFile()
	writeWithHCLWrite(f.Body(), &t.file)
	return append(bytes.TrimRight(hclwrite.Format(f.Bytes()), "\n"), '\n')
}

func writeWithHCLWrite(hb *hclwrite.Body, b *body) {
	for _, it := range b.items {
		switch {
		case it.block != nil:
			writeWithHCLWrite(hb.AppendNewBlock(it.block.typ, nil).Body(), &it.block.body)
		case it.isAttr():
			hb.SetAttributeValue(it.name, it.value)
		case it.line == "":
			hb.AppendNewline()
		default:
			hb.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(it.line + "\n")}})
		}
	}
}

// CheckValues parses out, the translation of doc, and says how it differs
// from what the translation wrote: the same blocks in the same order, the
// same attributes and the same values (a byte that is not UTF-8 reads
// back as U+FFFD).
func CheckValues(doc *Document, out []byte) error {
	t := translate(doc)
	if t.diags.HasErrors() {
		return fmt.Errorf("the translation has errors: %v", t.diags)
	}
	f, diags := hclsyntax.ParseConfig(out, "out.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return fmt.Errorf("the output does not parse: %v", diags)
	}
	return sameBody("", &t.file, f.Body.(*hclsyntax.Body))
}

func sameBody(at string, b *body, hb *hclsyntax.Body) error {
	var blocks []*block
	attrs := 0
	for _, it := range b.items {
		switch {
		case it.block != nil:
			blocks = append(blocks, it.block)
		case it.isAttr():
			attrs++
			a, ok := hb.Attributes[it.name]
			if !ok {
				return fmt.Errorf("%s%s: missing from the output", at, it.name)
			}
			got, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				return fmt.Errorf("%s%s: %v", at, it.name, diags)
			}
			if want := readBack(it.value); !got.RawEquals(want) {
				return fmt.Errorf("%s%s: reads back as %#v, want %#v", at, it.name, got, want)
			}
		}
	}
	if attrs != len(hb.Attributes) {
		return fmt.Errorf("%s: %d attributes in the output, want %d", at, len(hb.Attributes), attrs)
	}
	if len(blocks) != len(hb.Blocks) {
		return fmt.Errorf("%s: %d blocks in the output, want %d", at, len(hb.Blocks), len(blocks))
	}
	for i, bl := range blocks {
		if hb.Blocks[i].Type != bl.typ || len(hb.Blocks[i].Labels) != 0 {
			return fmt.Errorf("%s: block %d is %s %q, want %s", at, i, hb.Blocks[i].Type, hb.Blocks[i].Labels, bl.typ)
		}
		if err := sameBody(at+bl.typ+"/", &bl.body, hb.Blocks[i].Body); err != nil {
			return err
		}
	}
	return nil
}

// readBack is v as the output reads back: every byte that is not UTF-8
// becomes U+FFFD.
func readBack(v cty.Value) cty.Value {
	switch ty := v.Type(); {
	case ty == cty.String && !utf8.ValidString(v.AsString()):
		var b []byte
		for _, r := range v.AsString() {
			b = utf8.AppendRune(b, r)
		}
		return cty.StringVal(string(b))
	case ty.IsTupleType() && v.LengthInt() > 0:
		elems := v.AsValueSlice()
		for i := range elems {
			elems[i] = readBack(elems[i])
		}
		return cty.TupleVal(elems)
	}
	return v
}
