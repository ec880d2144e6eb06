package pyliteral

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tok is one token: enough of Python's lexer to find top-level operators and literals.
type tok struct {
	kind byte // 'n' name, '0' number, 's' string, 'o' operator, 'N' end of a logical line
	s    string
}

var ops3 = []string{"**=", "//=", ">>=", "<<=", "..."}
var ops2 = []string{"==", "!=", "<=", ">=", "**", "//", "->", ":=", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="}

// tokenize is a small Python tokenizer: enough to find top-level operators and literals.
func tokenize(src string) ([]tok, error) {
	var out []tok
	depth := 0
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
			i += 2
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\n':
			if depth == 0 && len(out) > 0 && out[len(out)-1].kind != 'N' {
				out = append(out, tok{'N', ""})
			}
			i++
		case c == '"' || c == '\'':
			j, err := scanString(src, i)
			if err != nil {
				return nil, err
			}
			out = append(out, tok{'s', src[i:j]})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			hexa := strings.HasPrefix(strings.ToLower(src[i:]), "0x")
			for j < len(src) && (isAlnum(src[j]) || src[j] == '_' || src[j] == '.') {
				if !hexa && (src[j] == 'e' || src[j] == 'E') && j+1 < len(src) && (src[j+1] == '+' || src[j+1] == '-') {
					j++
				}
				j++
			}
			out = append(out, tok{'0', src[i:j]})
			i = j
		case c == '_' || isAlnum(c) || c >= utf8.RuneSelf:
			j := i
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += n
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character")
			}
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && isStrPrefix(src[i:j]) {
				k, err := scanString(src, j)
				if err != nil {
					return nil, err
				}
				out = append(out, tok{'s', src[i:k]})
				i = k
				continue
			}
			out = append(out, tok{'n', src[i:j]})
			i = j
		default:
			op := string(c)
			for _, o := range ops3 {
				if strings.HasPrefix(src[i:], o) {
					op = o
				}
			}
			if len(op) == 1 {
				for _, o := range ops2 {
					if strings.HasPrefix(src[i:], o) {
						op = o
					}
				}
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
				if depth < 0 {
					return nil, fmt.Errorf("unbalanced brackets")
				}
			}
			out = append(out, tok{'o', op})
			i += len(op)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced brackets")
	}
	return out, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isStrPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// scanString returns the end of the string literal whose opening quote is at i.
func scanString(src string, i int) (int, error) {
	q := src[i : i+1]
	if strings.HasPrefix(src[i:], q+q+q) {
		q = q + q + q
	}
	j := i + len(q)
	for j < len(src) {
		switch {
		case src[j] == '\\':
			j += 2
		case strings.HasPrefix(src[j:], q):
			return j + len(q), nil
		case src[j] == '\n' && len(q) == 1:
			return 0, fmt.Errorf("unterminated string")
		default:
			j++
		}
	}
	return 0, fmt.Errorf("unterminated string")
}
