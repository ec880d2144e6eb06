package generator

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/codeverify/codeverify/schemas"
)

// Task kinds decide the prompt format and how a program is assembled from the model's output.
const (
	TaskMBPP     = "mbpp"     // task text + test asserts; the model writes the whole function
	TaskFunction = "function" // signature + docstring (HumanEval); the model completes the body
)

// mbppStops end a plain-completion MBPP answer: the closing fence of the few-shot format or the
// start of another example. Top-level "\ndef " is NOT a stop here: MBPP solutions often need helpers.
var mbppStops = []string{"```", "\n>>> ", "\n- Example", "\nassert ", "\nif __name__", "\nprint("}

// Request is a problem rendered for one model: what goes on the wire and what extraction needs.
type Request struct {
	API        string
	Task       string
	Messages   []Message // chat
	Prompt     string    // completion
	Stops      []string  // all stops, applied client-side
	WireStops  []string  // the stops sent to the server
	EntryPoint string
	// Prefix is the code the completion continues (the HumanEval signature + docstring), prepended
	// to the extracted body to form the program.
	Prefix string
}

// Message is one chat message.
type Message struct{ Role, Content string }

// TaskOf says how a problem is prompted: check-style problems (HumanEval and its MBPP recasting)
// give a signature; assert-style problems (MBPP) give the text and the asserts.
func TaskOf(p schemas.Problem) string {
	if p.TestStyle == schemas.StyleCheck {
		return TaskFunction
	}
	return TaskMBPP
}

// MBPPShotIDs are the problem ids of a model's few-shot examples for p's benchmark.
func MBPPShotIDs(m Model, p schemas.Problem) []string {
	var ids []string
	bench := p.Benchmark
	if bench == "" {
		bench = "mbpp"
	}
	for _, n := range m.MBPPShots {
		if n > 0 && bench+"/"+strconv.Itoa(n) != p.ProblemID {
			ids = append(ids, bench+"/"+strconv.Itoa(n))
		}
	}
	return ids
}

// BuildRequest renders problem p for model m. shots are the MBPP few-shot examples (may be empty:
// zero-shot); they are ignored for function tasks.
func BuildRequest(m Model, p schemas.Problem, shots []schemas.Problem) Request {
	r := Request{API: m.API, Task: TaskOf(p), EntryPoint: p.EntryPoint}
	switch {
	case r.Task == TaskMBPP && m.API == APIChat:
		r.Messages = chatMessages(m, mbppPrompt(p, shots))
	case r.Task == TaskMBPP:
		r.Prompt = mbppPrompt(p, shots) + "\n>>> Code:\n```python\n"
		r.Stops = mbppStops
	case m.API == APIChat:
		// DeepSeek-Coder's instruct HumanEval evaluation (eval_instruct.py).
		r.Messages = chatMessages(m, "Please continue to complete the function. You are not allowed to modify the given code and do the completion only. Please return all completed function in a codeblock. Here is the given code to do completion:\n```python\n"+strings.TrimSpace(p.Prompt)+"\n```")
		r.Prefix = p.Prompt
	default:
		r.Prompt = p.Prompt
		r.Prefix = p.Prompt
		r.Stops = m.Stops
	}
	if m.API == APIChat && len(m.Stops) > 0 {
		r.Stops = m.Stops
	}
	r.WireStops = r.Stops
	if m.MaxStopsSent > 0 && len(r.WireStops) > m.MaxStopsSent {
		r.WireStops = r.WireStops[:m.MaxStopsSent]
	}
	return r
}

func chatMessages(m Model, user string) []Message {
	var ms []Message
	if m.SystemPrompt != "" {
		ms = append(ms, Message{Role: "system", Content: m.SystemPrompt})
	}
	return append(ms, Message{Role: "user", Content: user})
}

// mbppPrompt is DeepSeek-Coder's MBPP evaluation prompt (Evaluation/MBPP/mbpp.py): three solved
// examples, then the problem's text and its test asserts, which tell the model the function's name
// and signature.
func mbppPrompt(p schemas.Problem, shots []schemas.Problem) string {
	problem := mbppExample(p, false)
	if len(shots) == 0 {
		return "Please generate a python function for my problem.\n" + problem
	}
	ex := make([]string, len(shots))
	for i, s := range shots {
		ex[i] = fmt.Sprintf("- Example %d:\n%s", i+1, mbppExample(s, true))
	}
	return "Please refer the given examples and generate a python function for my problem.\nExamples are listed as follows:\n" +
		strings.Join(ex, "\n\n") + "\n\nHere is my problem:\n" + problem
}

func mbppExample(p schemas.Problem, withCode bool) string {
	s := fmt.Sprintf(">>> Problem:\n%s\n>>> Test Cases:\n%s\n", strings.TrimSpace(p.Prompt), strings.Join(p.Tests, "\n"))
	if withCode {
		code := strings.ReplaceAll(strings.ReplaceAll(p.ReferenceCode, "\r", ""), "\t", "    ")
		s += fmt.Sprintf("\n>>> Code:\n```python\n%s\n```", code)
	}
	return s
}
