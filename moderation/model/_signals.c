/* Two loops of signals.py, compiled: the word shingles of _shingle_set, and ShapeSignals' counts.
 *
 * Shingles: the hash of every run of `size` consecutive words, as a frozenset, without the tuples.
 *
 * Why: frozenset(map(hash, zip(...))) allocates a tuple per shingle; that was 3.8% of batch scoring with
 * reasons (py-spy, 80,000 benchmark comments). Each hash here is the one Python gives the tuple of those
 * words (CPython's tuple hash, xxHash-based since 3.8, over the words' own cached hashes), so the sets
 * are equal to the Python form's (tests/test_signals.py compares them); where the interpreter is not one
 * this was checked against, signals.py does not use this module.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if SIZEOF_PY_UHASH_T > 4
#define XXPRIME_1 ((Py_uhash_t)11400714785074694791ULL)
#define XXPRIME_2 ((Py_uhash_t)14029467366897019727ULL)
#define XXPRIME_5 ((Py_uhash_t)2870177450012600261ULL)
#define XXROTATE(x) ((x << 31) | (x >> 33))
#else
#define XXPRIME_1 ((Py_uhash_t)2654435761UL)
#define XXPRIME_2 ((Py_uhash_t)2246822519UL)
#define XXPRIME_5 ((Py_uhash_t)374761393UL)
#define XXROTATE(x) ((x << 13) | (x >> 19))
#endif

static PyObject *
shingle_set(PyObject *self, PyObject *args)
{
    PyObject *words;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "O!n", &PyTuple_Type, &words, &size)) return NULL;
    if (size < 1) {
        PyErr_SetString(PyExc_ValueError, "shingle_set: size must be at least 1");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(words);
    Py_hash_t *hashes = PyMem_Malloc(sizeof(Py_hash_t) * (size_t)(n + 1));
    PyObject *result = NULL;
    if (!hashes) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        hashes[i] = PyObject_Hash(PyTuple_GET_ITEM(words, i));
        if (hashes[i] == -1) goto done;
    }
    result = PyFrozenSet_New(NULL);
    if (!result) goto done;
    for (Py_ssize_t start = 0; start + size <= n; start++) {
        /* tuplehash (Objects/tupleobject.c) of words[start : start + size] */
        Py_uhash_t acc = XXPRIME_5;
        for (Py_ssize_t i = start; i < start + size; i++) {
            acc += (Py_uhash_t)hashes[i] * XXPRIME_2;
            acc = XXROTATE(acc);
            acc *= XXPRIME_1;
        }
        acc += (Py_uhash_t)size ^ (XXPRIME_5 ^ 3527539UL);
        Py_hash_t hash = acc == (Py_uhash_t)-1 ? 1546275796 : (Py_hash_t)acc;
        PyObject *value = PyLong_FromSsize_t(hash);
        if (!value || PySet_Add(result, value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(value);
    }
done:
    PyMem_Free(hashes);
    return result;
}

/* ShapeSignals' counts of a text in one pass: letters (str.isalpha), upper-case letters (str.isupper),
 * sentence ends (matches of [.!?]+(?:\s|$): runs of those marks followed by whitespace or the end) and
 * repeats (matches of (.)\1{3,}: runs of four or more of one character other than a line break). */
static PyObject *
shape_counts(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "shape_counts: a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), letters = 0, upper = 0, ends = 0, repeats = 0;
    Py_ssize_t run = 0;  /* how many times the character before this one repeats, itself included */
    Py_UCS4 previous = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 128) {
            int lower = ch >= 'a' && ch <= 'z', capital = ch >= 'A' && ch <= 'Z';
            letters += lower || capital;
            upper += capital;
        } else {
            letters += Py_UNICODE_ISALPHA(ch) != 0;
            upper += Py_UNICODE_ISUPPER(ch) != 0;
        }
        run = i > 0 && ch == previous ? run + 1 : 1;
        if (run == 4 && ch != '\n') repeats++;
        previous = ch;
        if ((ch == '.' || ch == '!' || ch == '?') &&
            (i + 1 == length || Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i + 1))))
            ends++;
    }
    return Py_BuildValue("nnnn", letters, upper, ends, repeats);
}

static PyMethodDef methods[] = {
    {"shape_counts", shape_counts, METH_O,
     "shape_counts(text) -> (letters, upper-case letters, sentence ends, repeats), as ShapeSignals counts them."},
    {"shingle_set", shingle_set, METH_VARARGS,
     "shingle_set(words, size): frozenset of hash(words[i : i + size]) for every i, words a tuple."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_signals", "The compiled shingles of moderation.model.signals.", -1, methods,
};

PyMODINIT_FUNC
PyInit__signals(void)
{
    return PyModule_Create(&module);
}
