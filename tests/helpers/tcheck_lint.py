#!/usr/bin/python3
"""tcheck_lint.py FILE...: finds t_check calls joined to more by && or ||,
and t_wait retrying a test of a value read once.

`t_check "what" [ a ] && [ b ]` checks only `[ a ]`: the shell runs `&& [ b ]`
after t_check, outside it, whatever t_check found; `t_check ... || exit`
never exits, since t_check itself succeeds.  In `t_wait 60 test "$(f)" = 1`
the shell runs f once, before t_wait: t_wait then retries the same words,
and passes only if the condition held at that one read (wait on a function
that reads anew instead).  Prints FILE:LINE: WHAT for each and exits 1 when
there is one; exits 2 when a file cannot be followed (an unclosed quote or
substitution), so that a file it misreads is not passed.
"""
import re
import sys

WORD_END = set(" \t\n;&|()<>")


class Scan:
    def __init__(self, text):
        self.s, self.i, self.line = text, 0, 1
        self.heredocs = []
        self.subst = False                  # a $( or ` was skipped

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def adv(self, n=1):
        for _ in range(n):
            if self.peek() == "\n":
                self.line += 1
            self.i += 1

    def eof(self):
        return self.i >= len(self.s)

    def skip_sq(self):                      # after the opening '
        while not self.eof() and self.peek() != "'":
            self.adv()
        if self.eof():
            raise ValueError("unclosed '")
        self.adv()

    def skip_dq(self):                      # after the opening "
        while not self.eof():
            c = self.peek()
            if c == "\\":
                self.adv(2)
            elif c == '"':
                self.adv()
                return
            elif c == "$" and self.peek(1) in "({":
                self.skip_dollar()
            elif c == "`":
                self.adv()
                self.skip_bt()
            else:
                self.adv()
        raise ValueError('unclosed "')

    def skip_bt(self):                      # after the opening `
        self.subst = True
        while not self.eof() and self.peek() != "`":
            self.adv(2 if self.peek() == "\\" else 1)
        if self.eof():
            raise ValueError("unclosed `")
        self.adv()

    def skip_dollar(self):                  # at $( or ${
        close = ")" if self.peek(1) == "(" else "}"
        opn = self.peek(1)
        self.subst = self.subst or opn == "("
        self.adv(2)
        depth = 1
        while not self.eof():
            c = self.peek()
            if c == "\\":
                self.adv(2)
            elif c == "'" and close == ")":
                self.adv()
                self.skip_sq()
            elif c == '"':
                self.adv()
                self.skip_dq()
            elif c == "`":
                self.adv()
                self.skip_bt()
            elif c == "$" and self.peek(1) in "({":
                self.skip_dollar()
            elif c == "#" and close == ")" and self.s[self.i - 1] in " \t\n":
                while not self.eof() and self.peek() != "\n":
                    self.adv()
            elif c == opn:
                depth += 1
                self.adv()
            elif c == close:
                depth -= 1
                self.adv()
                if depth == 0:
                    return
            elif c == "\n" and self.heredocs:
                self.adv()
                self.skip_heredocs()
            elif c == "<" and self.peek(1) == "<" and self.peek(2) != "<":
                self.heredoc_start()
            else:
                self.adv()
        raise ValueError("unclosed $" + opn)

    def heredoc_start(self):                # at <<
        m = re.compile(r"<<(-?)[ \t]*(['\"]?)([A-Za-z_0-9]+)\2").match(self.s, self.i)
        if not m:
            self.adv(2)
            return
        self.heredocs.append((m.group(1) == "-", m.group(3)))
        self.adv(m.end() - self.i)

    def skip_heredocs(self):                # at the start of a line
        for strip, word in self.heredocs:
            while not self.eof():
                j = self.s.find("\n", self.i)
                j = len(self.s) if j < 0 else j
                body = self.s[self.i:j]
                self.adv(j - self.i + 1)
                if (body.lstrip("\t") if strip else body) == word:
                    break
            else:
                raise ValueError("unclosed here-document " + word)
        self.heredocs = []

    def word(self):
        j = self.i
        while j < len(self.s) and self.s[j] not in WORD_END and \
                self.s[j] not in "'\"`$\\":
            j += 1
        return self.s[self.i:j]


JOINED = "t_check joined to more by && or ||"
READ_ONCE = "t_wait retries a test of a $(...) or `...` read once"


def lint(text):
    """(line, what) of t_check calls followed by && or ||, and of t_wait
    calls whose test holds a command substitution."""
    sc, bad = Scan(text), []
    cmd_start, in_check, check_line = True, False, 0
    tw = 0      # t_wait seen: 1, then its timeout: 2, then test or [: 3
    while not sc.eof():
        c = sc.peek()
        if c == "\\" and sc.peek(1) == "\n":
            sc.adv(2)
        elif c == "\\":
            sc.adv(2)
            cmd_start = False
        elif c in " \t":
            sc.adv()
        elif c == "\n":
            sc.adv()
            if sc.heredocs:
                sc.skip_heredocs()
            cmd_start, in_check, tw = True, False, 0
        elif c == "#" and (sc.i == 0 or sc.s[sc.i - 1] in " \t\n;"):
            while not sc.eof() and sc.peek() != "\n":
                sc.adv()
        elif c == "'":
            sc.adv()
            sc.skip_sq()
            cmd_start = False
        elif c in "\"`" or (c == "$" and sc.peek(1) in "({"):
            line, sc.subst = sc.line, False
            if c == "$":
                sc.skip_dollar()
            else:
                sc.adv()
                (sc.skip_dq if c == '"' else sc.skip_bt)()
            if tw == 3 and sc.subst:
                bad.append((line, READ_ONCE))
                tw = 0
            cmd_start = False
        elif c == "<" and sc.peek(1) == "<" and sc.peek(2) != "<":
            sc.heredoc_start()
        elif sc.s.startswith("&&", sc.i) or sc.s.startswith("||", sc.i):
            if in_check:
                bad.append((check_line, JOINED))
            sc.adv(2)
            cmd_start, in_check, tw = True, False, 0
        elif c in ";&|(){":
            sc.adv()
            cmd_start, in_check, tw = True, False, 0
        else:
            w = sc.word() or c
            if cmd_start and w == "t_check":
                in_check, check_line = True, sc.line
            if w == "t_wait":
                tw = 1
            elif tw == 1:
                tw = 2 if w.isdigit() else 0
            elif tw == 2:
                tw = 3 if w in ("test", "[") else 0
            cmd_start = cmd_start and w in ("!", "if", "then", "do", "else", "elif",
                                            "while", "until", "time")
            sc.adv(len(w))
    if sc.heredocs:
        raise ValueError("unclosed here-document")
    return bad


def main():
    rc = 0
    for path in sys.argv[1:]:
        try:
            with open(path, encoding="utf-8") as f:
                lines = lint(f.read())
        except ValueError as e:
            print("%s: cannot follow: %s" % (path, e))
            return 2
        for n, what in sorted(lines):
            print("%s:%d: %s" % (path, n, what))
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
