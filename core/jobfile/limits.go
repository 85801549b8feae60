package jobfile

import (
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Bounds on what a job file may be: a job file is a few hundred bytes, and
// neither /dev/zero given as one nor brackets nested a hundred thousand deep
// may exhaust the memory or the stack of the process reading it.
const (
	// MaxFileSize is the largest job file read.
	MaxFileSize = 1 << 20
	// MaxNesting bounds how deeply brackets, braces, parentheses, quotes,
	// interpolations and unary operators nest: the HCL parser recurses
	// once per level.
	MaxNesting = 100
)

// ReadFile reads a job file of at most MaxFileSize bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d KiB; a job file is a few lines", path, MaxFileSize>>10)
	}
	return src, nil
}

// checkNesting reports, before the parser sees it, a source that nests
// deeper than MaxNesting.
func checkNesting(src []byte, filename string) hcl.Diagnostics {
	tokens, diags := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil // the parser reports those, with more context
	}
	depth, unary := 0, 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
		}
		if tok.Type == hclsyntax.TokenBang || tok.Type == hclsyntax.TokenMinus {
			unary++
		} else {
			unary = 0
		}
		if depth > MaxNesting || unary > MaxNesting {
			rng := tok.Range
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Too deeply nested",
				Detail:   fmt.Sprintf("Brackets, braces, interpolations or operators nest more than %d levels deep here; a job file needs only a few.", MaxNesting),
				Subject:  &rng,
			}}
		}
	}
	return nil
}
