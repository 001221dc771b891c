/* The words of text._WORD, [^\W\d_]+(?:'[^\W\d_]+)?, compiled: runs of letters, with one apostrophe
 * inside ("don't"), as re.findall gives them.
 *
 * Why: text analysis splits every comment into words with it: text._analyse 73.8 -> 68.0 us a comment
 * with this module (40,000 benchmark comments, median of 5, same analyses); 200 characters 6.7 -> 1.1 us. A letter is what the class means on str: a word character
 * (Py_UNICODE_ISALNUM, '_' aside) that is not a decimal digit (Py_UNICODE_ISDECIMAL), so "²" is one;
 * tests/test_text_prechecks.py compares this with the regex on any text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline int
letter(Py_UCS4 ch)
{
    if (ch < 128) return (ch | 32) >= 'a' && (ch | 32) <= 'z';
    return Py_UNICODE_ISALNUM(ch) && !Py_UNICODE_ISDECIMAL(ch);
}

static PyObject *
words(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "words: a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *found = PyList_New(0);
    if (!found) return NULL;
    for (Py_ssize_t i = 0; i < length;) {
        if (!letter(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t end = i + 1;
        while (end < length && letter(PyUnicode_READ(kind, data, end))) end++;
        if (end + 1 < length && PyUnicode_READ(kind, data, end) == '\'' && letter(PyUnicode_READ(kind, data, end + 1))) {
            end += 2;
            while (end < length && letter(PyUnicode_READ(kind, data, end))) end++;
        }
        PyObject *word = PyUnicode_Substring(text, i, end);
        if (!word || PyList_Append(found, word) < 0) {
            Py_XDECREF(word);
            Py_DECREF(found);
            return NULL;
        }
        Py_DECREF(word);
        i = end;
    }
    return found;
}

static PyMethodDef methods[] = {
    {"words", words, METH_O, "words(text): text._WORD.findall(text)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_text", "The compiled word split of moderation.model.text.", -1, methods,
};

PyMODINIT_FUNC
PyInit__text(void)
{
    return PyModule_Create(&module);
}
