/* Loops of signals.py, compiled: the word shingles of _shingle_set (and of a post, only those among
 * its comments'), and ShapeSignals' counts.
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

/* tuplehash (Objects/tupleobject.c) of the words whose hashes are hashes[start : start + size] */
static inline Py_hash_t
shingle_hash(const Py_hash_t *hashes, Py_ssize_t start, Py_ssize_t size)
{
    Py_uhash_t acc = XXPRIME_5;
    for (Py_ssize_t i = start; i < start + size; i++) {
        acc += (Py_uhash_t)hashes[i] * XXPRIME_2;
        acc = XXROTATE(acc);
        acc *= XXPRIME_1;
    }
    acc += (Py_uhash_t)size ^ (XXPRIME_5 ^ 3527539UL);
    return acc == (Py_uhash_t)-1 ? 1546275796 : (Py_hash_t)acc;
}

static Py_hash_t *
word_hashes(PyObject *words)
{
    Py_ssize_t n = PyTuple_GET_SIZE(words);
    Py_hash_t *hashes = PyMem_Malloc(sizeof(Py_hash_t) * (size_t)(n + 1));
    if (!hashes) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        hashes[i] = PyObject_Hash(PyTuple_GET_ITEM(words, i));
        if (hashes[i] == -1) {
            PyMem_Free(hashes);
            return NULL;
        }
    }
    return hashes;
}

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
    Py_hash_t *hashes = word_hashes(words);
    PyObject *result = NULL;
    if (!hashes) return NULL;
    result = PyFrozenSet_New(NULL);
    if (!result) goto done;
    for (Py_ssize_t start = 0; start + size <= n; start++) {
        /* tuplehash (Objects/tupleobject.c) of words[start : start + size] */
        PyObject *value = PyLong_FromSsize_t(shingle_hash(hashes, start, size));
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

/* shingle_set(words, size) & candidates, without the shingles that are not candidates: a post's shingles
 * are only compared with those of the comments under it, and making an int and a set entry of each of
 * a post's few hundred took 3 us a comment in batches of 20-comment threads. Candidates are ints (the
 * comments' shingle hashes); each window's hash is looked up in a table of them. */
static PyObject *
shingles_in(PyObject *self, PyObject *args)
{
    PyObject *words, *candidates, *result = NULL, *iterator = NULL, *item;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "O!nO", &PyTuple_Type, &words, &size, &candidates)) return NULL;
    if (size < 1 || !PyAnySet_Check(candidates)) {
        PyErr_SetString(PyExc_ValueError, "shingles_in: size of at least 1 and a set of candidates");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(words), m = PySet_GET_SIZE(candidates), slots = 8;
    while (slots < 2 * m) slots *= 2;
    Py_hash_t *hashes = NULL, *keys = PyMem_Malloc(sizeof(Py_hash_t) * (size_t)slots);
    PyObject **values = PyMem_Calloc((size_t)slots, sizeof(PyObject *));
    char *taken = PyMem_Calloc((size_t)slots, 1);
    if (!keys || !values || !taken) {
        PyErr_NoMemory();
        goto done;
    }
    iterator = PyObject_GetIter(candidates);
    if (!iterator) goto done;
    while ((item = PyIter_Next(iterator)) != NULL) {
        Py_ssize_t key = PyLong_Check(item) ? PyLong_AsSsize_t(item) : -1;
        if (key == -1 && PyLong_Check(item) && PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear(); /* no hash is that large: it cannot be found */
            Py_DECREF(item);
            continue;
        }
        if (key == -1 && (!PyLong_Check(item) || PyErr_Occurred())) {
            Py_DECREF(item);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "shingles_in: candidates must be ints");
            goto done;
        }
        size_t slot = (size_t)key & (size_t)(slots - 1);
        while (values[slot]) slot = (slot + 1) & (size_t)(slots - 1);
        keys[slot] = key;
        values[slot] = item; /* borrowed: the set holds it */
        Py_DECREF(item);
    }
    if (PyErr_Occurred()) goto done;
    result = PyFrozenSet_New(NULL);
    if (!result || n < size || !m) goto done;
    hashes = word_hashes(words);
    if (!hashes) {
        Py_CLEAR(result);
        goto done;
    }
    for (Py_ssize_t start = 0; start + size <= n; start++) {
        Py_hash_t hash = shingle_hash(hashes, start, size);
        for (size_t slot = (size_t)hash & (size_t)(slots - 1); values[slot]; slot = (slot + 1) & (size_t)(slots - 1)) {
            if (keys[slot] != hash) continue;
            if (!taken[slot]) {
                taken[slot] = 1;
                if (PySet_Add(result, values[slot]) < 0) {
                    Py_CLEAR(result);
                    goto done;
                }
            }
            break;
        }
    }
done:
    Py_XDECREF(iterator);
    PyMem_Free(hashes);
    PyMem_Free(keys);
    PyMem_Free(values);
    PyMem_Free(taken);
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
    {"shingles_in", shingles_in, METH_VARARGS,
     "shingles_in(words, size, candidates): shingle_set(words, size) & candidates, candidates a set of ints."},
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
