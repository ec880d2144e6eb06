package testgen

import (
	"strings"
	"unicode"
)

const checkComment = "# check the correctness of "

// Prompt is CodeT's test-generation prompt for a function problem: the signature and docstring with
// their trailing white space removed (Python's rstrip), a body of "pass", then a comment naming the function and the
// start of an assert for the model to continue. A base model continues it directly.
func Prompt(problemPrompt, entryPoint string) string {
	return strings.TrimRightFunc(problemPrompt, isPySpace) + "\n    pass\n\n" + checkComment + entryPoint + "\nassert "
}

// ChatInstruction asks an instruct model for the same continuation: it is shown CodeT's prompt and
// asked to reply with more assert lines only, so that its reply (fences removed) reads like a base
// model's continuation after "assert ".
func ChatInstruction(problemPrompt, entryPoint string) string {
	return "Write test cases for the function " + entryPoint + " below. Reply with one Python code block " +
		"that continues the last line: assert statements only, one per line, each calling " + entryPoint +
		" with concrete arguments and comparing the result with the expected value. " +
		"Do not implement the function.\n```python\n" + Prompt(problemPrompt, entryPoint) + "\n```"
}

// ChatReply turns an instruct model's reply into the form of a base model's continuation: the first
// fenced code block if there is one (else the whole reply), from after the prompt's "# check the
// correctness of" line if the model repeated it, without the leading "assert " that the extraction
// puts back.
func ChatReply(reply string) string {
	code := reply
	if i := strings.Index(reply, "```"); i >= 0 {
		rest := reply[i+3:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[nl+1:] // the fence's language tag
		} else {
			rest = ""
		}
		if j := strings.Index(rest, "```"); j >= 0 {
			rest = rest[:j]
		}
		code = rest
	}
	if i := strings.LastIndex(code, checkComment); i >= 0 {
		code = code[i+len(checkComment):]
		if nl := strings.IndexByte(code, '\n'); nl >= 0 {
			code = code[nl+1:]
		} else {
			code = ""
		}
	}
	code = strings.TrimLeftFunc(code, unicode.IsSpace)
	return strings.TrimPrefix(code, "assert ")
}
