/* Scans and counts of text.py compiled, each giving what its Python form gives
 * (tests/test_text_prechecks.py on any text and every code point):
 *
 * - words: text._WORD, [^\W\d_]+(?:'[^\W\d_]+)?, runs of letters with one apostrophe inside ("don't").
 *   A letter is what the class means on str: a word character (Py_UNICODE_ISALNUM, '_' aside) that is
 *   not a decimal digit, so "²" is one. text._analyse 73.8 -> 68.0 us a comment (40,000 benchmark
 *   comments, median of 5, same analyses); 200 characters 6.7 -> 1.1 us.
 * - candidates, digit_spans, zero_digits, has_digit: the link candidates and the digit scans that every
 *   text, and every post of a few thousand characters, goes through;
 * - stems, repeated_phrase: the word counts of text._stem_set and text._repeated_phrase;
 * - contains_any: the literal pre-checks of text._contains_any;
 * - last_segment: the last sentence that text._keyword_tail reads;
 * - has_marked, spaced_letters: the character-class checks of text.undisguise;
 * - word_runs: the \w+ runs that ContextSignals looks for commenters' names in.
 *
 * Figures are in text.PYTHON_FORMS' comment; those forms are what runs without this module.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static inline int
letter(Py_UCS4 ch)
{
    if (ch < 128) return (ch | 32) >= 'a' && (ch | 32) <= 'z';
    return Py_UNICODE_ISALNUM(ch) && !Py_UNICODE_ISDECIMAL(ch);
}

/* Appends `item` (a new reference, or NULL after an error) to `list` and drops the reference: 0, or -1
 * with an error set. */
static int
append_new(PyObject *list, PyObject *item)
{
    int failed = !item || PyList_Append(list, item) < 0;
    Py_XDECREF(item);
    return failed ? -1 : 0;
}

static int
check_str(PyObject *text, const char *name)
{
    if (PyUnicode_Check(text)) return 1;
    PyErr_Format(PyExc_TypeError, "%s: a str", name);
    return 0;
}

/* Word characters, whitespace and digits as re's \w, \s and \d read them in a str pattern:
 * Py_UNICODE_ISALNUM or "_", Py_UNICODE_ISSPACE and Py_UNICODE_ISDECIMAL (tests/test_text_prechecks.py
 * checks every code point). Below 128 the first and last are tested directly, without the lookup in the
 * Unicode database. */
static inline int
word_char(Py_UCS4 ch)
{
    if (ch < 128) return ((ch | 32) >= 'a' && (ch | 32) <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    return Py_UNICODE_ISALNUM(ch);
}

static inline int
decimal(Py_UCS4 ch)
{
    if (ch < 128) return ch >= '0' && ch <= '9';
    return Py_UNICODE_ISDECIMAL(ch);
}

/* The runs of characters `inside` holds, each with one apostrophe inside it when `apostrophe` ("don't"):
 * as strings, or as (start, end) when `spans`. */
static inline PyObject *
runs(PyObject *text, const char *name, int (*inside)(Py_UCS4), int apostrophe, int spans)
{
    if (!check_str(text, name)) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *found = PyList_New(0);
    if (!found) return NULL;
    for (Py_ssize_t i = 0; i < length;) {
        if (!inside(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t end = i + 1;
        while (end < length && inside(PyUnicode_READ(kind, data, end))) end++;
        if (apostrophe && end + 1 < length && PyUnicode_READ(kind, data, end) == '\'' &&
            inside(PyUnicode_READ(kind, data, end + 1))) {
            end += 2;
            while (end < length && inside(PyUnicode_READ(kind, data, end))) end++;
        }
        if (append_new(found, spans ? Py_BuildValue("(nn)", i, end) : PyUnicode_Substring(text, i, end)) < 0) {
            Py_DECREF(found);
            return NULL;
        }
        i = end;
    }
    return found;
}

/* text._WORD.findall(text). */
static PyObject *
words(PyObject *self, PyObject *text)
{
    return runs(text, "words", letter, 1, 0);
}

/* re.findall(r"\w+", text). ContextSignals splits a comment that may name a commenter with it: 6.3 us a
 * benchmark comment with the regex. */
static PyObject *
word_runs(PyObject *self, PyObject *text)
{
    return runs(text, "word_runs", word_char, 0, 0);
}

/* text._CANDIDATE.findall, (?<!\S)\S*?[.:/@]\S+: every whitespace-delimited token with ".", ":", "/"
 * or "@" before its last character, whole. A match can only start a token (the look-behind), it ends
 * the token (\S+ is greedy), and it exists when the first such character has another after it in the
 * token, which is what the lazy \S*? looks for. Posts are long and every token of them is tried:
 * 83 us for a 2.8 KB post with the regex. */
static PyObject *
candidates(PyObject *self, PyObject *text)
{
    if (!check_str(text, "candidates")) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *found = PyList_New(0);
    if (!found) return NULL;
    for (Py_ssize_t i = 0; i < length;) {
        if (Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t end = i, marked = -1;
        for (; end < length; end++) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, end);
            if (Py_UNICODE_ISSPACE(ch)) break;
            if (marked < 0 && (ch == '.' || ch == ':' || ch == '/' || ch == '@')) marked = end;
        }
        if (marked >= 0 && marked + 1 < end) {
            if (append_new(found, PyUnicode_Substring(text, i, end)) < 0) {
                Py_DECREF(found);
                return NULL;
            }
        }
        i = end;
    }
    return found;
}

/* (start, end) of every run of decimal digits: m.span() for m in re.finditer(r"\d+", text). */
static PyObject *
digit_spans(PyObject *self, PyObject *text)
{
    return runs(text, "digit_spans", decimal, 0, 1);
}

/* re.sub(r"\d+", "0", text): each run of decimal digits written as one "0". */
static PyObject *
zero_digits(PyObject *self, PyObject *text)
{
    if (!check_str(text, "zero_digits")) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), kept = 0;
    Py_UCS4 widest = 0;
    int digits = 0, any = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (decimal(ch)) {
            kept += !digits;
            digits = any = 1;
            continue;
        }
        digits = 0;
        kept++;
        if (ch > widest) widest = ch;
    }
    if (!any) return Py_NewRef(text);
    PyObject *out = PyUnicode_New(kept, widest < '0' ? '0' : widest);
    if (!out) return NULL;
    int out_kind = PyUnicode_KIND(out);
    void *out_data = PyUnicode_DATA(out);
    Py_ssize_t j = 0;
    digits = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (decimal(ch)) {
            if (!digits) PyUnicode_WRITE(out_kind, out_data, j++, '0');
            digits = 1;
            continue;
        }
        digits = 0;
        PyUnicode_WRITE(out_kind, out_data, j++, ch);
    }
    return out;
}

/* _ANY_DIGIT.search(text) is not None. */
static PyObject *
has_digit(PyObject *self, PyObject *text)
{
    if (!check_str(text, "has_digit")) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    for (Py_ssize_t i = 0; i < length; i++) {
        if (decimal(PyUnicode_READ(kind, data, i))) Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

/* text._stem_set: the frozenset of w[:6] for every word w of `words` (any iterable of str) longer than two
 * characters and not in `stop` (a frozenset). A post's stems took 56 us of its 343 us of words
 * (2.8 KB posts, best of 5). */
static PyObject *
stems(PyObject *self, PyObject *args)
{
    PyObject *words, *stop, *iterator, *word;
    if (!PyArg_ParseTuple(args, "O!O", &PyFrozenSet_Type, &stop, &words)) return NULL;
    PyObject *result = PyFrozenSet_New(NULL);
    if (!result) return NULL;
    iterator = PyObject_GetIter(words);
    if (!iterator) goto failed;
    while ((word = PyIter_Next(iterator)) != NULL) {
        int stop_word = 0;
        Py_ssize_t length = 0;
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "stems: words must be str");
            stop_word = -1;
        } else if ((length = PyUnicode_GET_LENGTH(word)) > 2) {
            stop_word = PySet_Contains(stop, word);
        }
        if (stop_word == 0 && length > 2) {
            PyObject *stem = length > 6 ? PyUnicode_Substring(word, 0, 6) : Py_NewRef(word);
            if (!stem || PySet_Add(result, stem) < 0) stop_word = -1;
            Py_XDECREF(stem);
        }
        Py_DECREF(word);
        if (stop_word < 0) break;
    }
    Py_DECREF(iterator);
    if (!PyErr_Occurred()) return result;
failed:
    Py_DECREF(result);
    return NULL;
}

/* text._repeated_phrase: how often the most repeated pair of consecutive words with a word not in `stop`
 * recurs, 0 when none does: max(1, the largest such pair's count) - 1. Pairs are counted in a table of
 * the words' own hashes, compared as strings on a hash match, without a tuple per pair (3.9 us a
 * benchmark comment with pairwise, set and Counter). */
static PyObject *
repeated_phrase(PyObject *self, PyObject *args)
{
    PyObject *words, *stop;
    if (!PyArg_ParseTuple(args, "O!O!", &PyFrozenSet_Type, &stop, &PyList_Type, &words)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(words);
    if (n < 4) return PyLong_FromLong(0);
    Py_ssize_t pairs = n - 1, size = 8;
    while (size < 2 * pairs) size *= 2;
    Py_hash_t *hashes = PyMem_Malloc(sizeof(Py_hash_t) * (size_t)n);
    Py_ssize_t *first = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)size);
    Py_ssize_t *count = PyMem_Calloc((size_t)size, sizeof(Py_ssize_t));
    PyObject *result = NULL;
    Py_ssize_t best = 1;
    if (!hashes || !first || !count) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "repeated_phrase: words must be str");
            goto done;
        }
        hashes[i] = PyObject_Hash(word);
        if (hashes[i] == -1) goto done;
    }
    for (Py_ssize_t i = 0; i < pairs; i++) {
        size_t slot = ((size_t)hashes[i] * 1000003u ^ (size_t)hashes[i + 1]) & (size_t)(size - 1);
        for (;; slot = (slot + 1) & (size_t)(size - 1)) {
            if (!count[slot]) {
                first[slot] = i;
                count[slot] = 1;
                break;
            }
            Py_ssize_t j = first[slot];
            if (hashes[j] != hashes[i] || hashes[j + 1] != hashes[i + 1]) continue;
            int same = PyUnicode_Compare(PyList_GET_ITEM(words, j), PyList_GET_ITEM(words, i)) == 0 &&
                       PyUnicode_Compare(PyList_GET_ITEM(words, j + 1), PyList_GET_ITEM(words, i + 1)) == 0;
            if (same) {
                count[slot]++;
                break;
            }
        }
    }
    for (Py_ssize_t slot = 0; slot < size; slot++) {
        if (count[slot] <= best) continue;
        Py_ssize_t j = first[slot];
        int a = PySet_Contains(stop, PyList_GET_ITEM(words, j)), b = 0;
        if (a < 0) goto done;
        if (a) {
            b = PySet_Contains(stop, PyList_GET_ITEM(words, j + 1));
            if (b < 0) goto done;
        }
        if (!(a && b)) best = count[slot];
    }
    result = PyLong_FromSsize_t(best - 1);
done:
    PyMem_Free(hashes);
    PyMem_Free(first);
    PyMem_Free(count);
    return result;
}

/* text._contains_any: whether any of `literals` (a tuple of str) is in `text`, in one pass over the text:
 * each position whose first two characters begin some literal (a 4096-bit filter of their pairs) is
 * compared with those literals, and one-character literals are looked for directly. The Python form
 * searches the text once per literal: 2.4 us for the 18 mail providers on a benchmark comment. */
#define FEW_LITERALS 64
#define PAIR(a, b) ((((size_t)(a) << 5) ^ (size_t)(b)) & 4095u)

static PyObject *
contains_any(PyObject *self, PyObject *args)
{
    PyObject *text, *literals;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyTuple_Type, &literals)) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(literals), length = PyUnicode_GET_LENGTH(text);
    /* Characters compared at positions the filter lets through. Literals can come from commenters
     * (ContextSignals looks for their names' first words), and "aaa...ab" names against a comment of
     * "aaa..." would compare a name's length at every position: past the budget, each literal is
     * searched for on its own, as the Python form does (linear in the text). */
    Py_ssize_t budget = 16 * length + 4096;
    if (n > FEW_LITERALS) goto one_by_one;
    uint64_t filter[64] = {0}, ascii_singles[2] = {0, 0};
    Py_UCS4 singles[FEW_LITERALS]; /* one-character literals beyond ASCII */
    int n_singles = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *literal = PyTuple_GET_ITEM(literals, k);
        if (!PyUnicode_Check(literal)) {
            PyErr_SetString(PyExc_TypeError, "contains_any: literals must be str");
            return NULL;
        }
        Py_ssize_t m = PyUnicode_GET_LENGTH(literal);
        if (m == 0) Py_RETURN_TRUE;
        int kind = PyUnicode_KIND(literal);
        const void *data = PyUnicode_DATA(literal);
        if (m == 1) {
            Py_UCS4 single = PyUnicode_READ(kind, data, 0);
            if (single < 128)
                ascii_singles[single >> 6] |= (uint64_t)1 << (single & 63);
            else
                singles[n_singles++] = single;
        } else {
            size_t pair = PAIR(PyUnicode_READ(kind, data, 0), PyUnicode_READ(kind, data, 1));
            filter[pair >> 6] |= (uint64_t)1 << (pair & 63);
        }
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 128) {
            if (ascii_singles[ch >> 6] >> (ch & 63) & 1) Py_RETURN_TRUE;
        } else {
            for (int j = 0; j < n_singles; j++) {
                if (ch == singles[j]) Py_RETURN_TRUE;
            }
        }
        if (i + 1 == length) break;
        Py_UCS4 next = PyUnicode_READ(kind, data, i + 1);
        size_t pair = PAIR(ch, next);
        if (!(filter[pair >> 6] >> (pair & 63) & 1)) continue;
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *literal = PyTuple_GET_ITEM(literals, k);
            Py_ssize_t m = PyUnicode_GET_LENGTH(literal);
            if (m < 2 || m > length - i) continue;
            int literal_kind = PyUnicode_KIND(literal);
            const void *literal_data = PyUnicode_DATA(literal);
            Py_ssize_t j = 0;
            while (j < m && PyUnicode_READ(literal_kind, literal_data, j) == PyUnicode_READ(kind, data, i + j)) j++;
            if (j == m) Py_RETURN_TRUE;
            budget -= j + 1;
            if (budget < 0) goto one_by_one;
        }
    }
    Py_RETURN_FALSE;
one_by_one:
    for (Py_ssize_t k = 0; k < n; k++) {
        int found = PySequence_Contains(text, PyTuple_GET_ITEM(literals, k));
        if (found) return found < 0 ? NULL : Py_NewRef(Py_True);
    }
    Py_RETURN_FALSE;
}

/* text._last_segment: of the pieces re.split(r"[.!?\n]+", text) gives that hold more than whitespace,
 * how many there are (2 for two or more) and the last one (None without any). */
static PyObject *
last_segment(PyObject *self, PyObject *text)
{
    if (!check_str(text, "last_segment")) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), start = 0, last_start = -1, last_end = -1;
    int count = 0, filled = 0;
    for (Py_ssize_t i = 0; i <= length; i++) {
        Py_UCS4 ch = i < length ? PyUnicode_READ(kind, data, i) : '\n';
        if (ch == '.' || ch == '!' || ch == '?' || ch == '\n') {
            if (filled) {
                count += count < 2;
                last_start = start;
                last_end = i;
            }
            filled = 0;
            start = i + 1;
        } else if (!filled && !Py_UNICODE_ISSPACE(ch)) {
            filled = 1;
        }
    }
    if (last_start < 0) return Py_BuildValue("(iO)", count, Py_None);
    PyObject *segment = PyUnicode_Substring(text, last_start, last_end);
    if (!segment) return NULL;
    return Py_BuildValue("(iN)", count, segment);
}

/* Whether the text holds a character marked in `bitmap` (bytes, bit c % 8 of byte c / 8 for code point
 * c; code points past its end are unmarked): text._has_lookalike and the lone-surrogate or invisible
 * character scan of text.undisguise, each a character class of a few hundred code points, some beyond
 * U+FFFF, which sre checks character by character (20.5 and 8.5 us on a 2.8 KB post). */
static PyObject *
has_marked(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_buffer bitmap;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &bitmap)) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const unsigned char *bits = bitmap.buf;
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), limit = bitmap.len * 8;
    int found = 0;
    for (Py_ssize_t i = 0; i < length && !found; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        found = (Py_ssize_t)ch < limit && (bits[ch >> 3] >> (ch & 7) & 1);
    }
    PyBuffer_Release(&bitmap);
    return PyBool_FromLong(found);
}

/* _SPACED_LETTERS.search(text) is not None: " X Y " with X and Y letters (as in words). */
static PyObject *
spaced_letters(PyObject *self, PyObject *text)
{
    if (!check_str(text, "spaced_letters")) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    for (Py_ssize_t i = 0; i + 4 < length; i++) {
        if (PyUnicode_READ(kind, data, i) == ' ' && PyUnicode_READ(kind, data, i + 2) == ' ' &&
            PyUnicode_READ(kind, data, i + 4) == ' ' && letter(PyUnicode_READ(kind, data, i + 1)) &&
            letter(PyUnicode_READ(kind, data, i + 3)))
            Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static PyMethodDef methods[] = {
    {"words", words, METH_O, "words(text): text._WORD.findall(text)."},
    {"word_runs", word_runs, METH_O, "word_runs(text): re.findall(r'\\w+', text)."},
    {"candidates", candidates, METH_O, "candidates(text): text._CANDIDATE.findall(text)."},
    {"digit_spans", digit_spans, METH_O, "digit_spans(text): [m.span() for m in re.finditer(r'\\d+', text)]."},
    {"zero_digits", zero_digits, METH_O, "zero_digits(text): re.sub(r'\\d+', '0', text)."},
    {"has_digit", has_digit, METH_O, "has_digit(text): re.search(r'\\d', text) is not None."},
    {"has_marked", has_marked, METH_VARARGS, "has_marked(text, bitmap): whether a character of text is marked."},
    {"spaced_letters", spaced_letters, METH_O, "spaced_letters(text): text._SPACED_LETTERS.search(text) is not None."},
    {"last_segment", last_segment, METH_O, "last_segment(text): text._last_segment(text)."},
    {"contains_any", contains_any, METH_VARARGS, "contains_any(text, literals): text._contains_any(text, literals)."},
    {"stems", stems, METH_VARARGS, "stems(stop, words): text._stem_set(words) with stop = text.STOP_WORDS."},
    {"repeated_phrase", repeated_phrase, METH_VARARGS,
     "repeated_phrase(stop, words): text._repeated_phrase(words) with stop = text.STOP_WORDS."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_text", "The compiled word, token and digit scans of moderation.model.text.", -1, methods,
};

PyMODINIT_FUNC
PyInit__text(void)
{
    return PyModule_Create(&module);
}
