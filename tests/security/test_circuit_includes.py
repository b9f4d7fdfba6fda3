"""Circuits are data: no include of a circuit reaches the host's files, in either OpenQASM.

Each trick below once fooled (or would fool) a text search for ``include``; the screen decides
on the token stream, and the parsers are given a text in which the two cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qjob_tui.wire.circuits import load_qasm
from qjob_tui.wire.errors import ParamsDecodeError
from qjob_tui.wire.qasm_screen import BUILT_IN_INCLUDES, QasmRefused, screen_qasm

TRICKS = [
    'include "/etc/passwd";',
    'include "../../../../etc/passwd";',
    'include "etc/passwd";',
    'include "/proc/self/environ";',
    'include "/proc/self/cmdline";',
    'include "/proc/1/root/etc/shadow";',
    'defcalgrammar "x//"; include "/etc/shadow";',
    "defcalgrammar 'x//'; include '/etc/shadow';",
    'defcalgrammar "x/*"; include "/etc/shadow"; // */',
    '"x/*" include "/etc/shadow"; "*/"',
    '@note "x\ninclude "/etc/hostname";',
    'pragma "x\ninclude "/etc/hostname";',
    'cal { include "/etc/hostname"; }',
    '1include "/etc/hostname";',
    'include\n"/etc/hostname"\n;',
    'include\t"/etc/hostname";',
    'include "stdgates.inc\\";"/etc/hostname";',
    'include "std/*x*/gates.inc";',
    "include /etc/hostname;",
    "include;",
    "/* never closed",
    '"never closed',
    'include "stdgates.inc"',
    'include "qelib1.inc" "/etc/hostname";',
]


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("trick", TRICKS)
def test_every_trick_is_refused_before_parsing(version: str, trick: str) -> None:
    text = f"OPENQASM {version}.0;\n{trick}\nqubit[1] q;\n"
    with pytest.raises(QasmRefused):
        screen_qasm(text, BUILT_IN_INCLUDES[version])


@pytest.mark.parametrize(
    ("version", "other"), [("2", "stdgates.inc"), ("3", "qelib1.inc")], ids=["2", "3"]
)
def test_only_the_versions_own_include_is_provided(version: str, other: str) -> None:
    with pytest.raises(QasmRefused, match=other):
        screen_qasm(f'OPENQASM {version}.0;\ninclude "{other}";\n', BUILT_IN_INCLUDES[version])


def test_comments_are_blanked_in_place_and_strings_kept() -> None:
    text = (
        'OPENQASM 3.0;\n// include "/etc/x"\n/* a\ninclude "/etc/y"; */ include "stdgates.inc";\n'
    )
    screened = screen_qasm(text, BUILT_IN_INCLUDES["3"])
    assert len(screened) == len(text)
    assert screened.count("\n") == text.count("\n")
    assert "/etc" not in screened
    assert screened.endswith('include "stdgates.inc";\n')


HOST_FILE_LINE = "qjob-host-secret-line"


@pytest.fixture()
def host_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.inc"
    secret.write_text(f"{HOST_FILE_LINE} is here\n")
    return secret


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize(
    "form",
    [
        'include "{path}";',
        'defcalgrammar "x//"; include "{path}";',
        "defcalgrammar 'x/*'; include '{path}'; // */",
        'include "{missing}";',
    ],
)
def test_a_refusal_names_the_include_and_nothing_of_the_host(
    version: str, form: str, host_file: Path
) -> None:
    trick = form.format(path=host_file, missing=host_file.with_name("missing.inc"))
    with pytest.raises(ParamsDecodeError) as caught:
        load_qasm(f"OPENQASM {version}.0;\n{trick}\nqubit[1] q;\n", "pub 0")
    reason = str(caught.value)
    assert HOST_FILE_LINE not in reason
    assert "refused" in reason
    # An existing and a missing file get the same words: the reason tells nothing of the host.
    assert "exist" not in reason and "No such file" not in reason


# Pieces an attacker can put together; the property below holds for any arrangement.
PIECES = [
    "// c ",
    "/* x */",
    "/*",
    "*/",
    '"x//"',
    "'x//'",
    '"x/*"',
    '"',
    "'",
    'defcalgrammar "x//";',
    "@ann ",
    "pragma ",
    "cal {",
    "}",
    'include "evil.inc";',
    "include 'evil.inc';",
    'include "./evil.inc";',
    "include",
    '"evil.inc"',
    ";",
    "\n",
    " ",
    "1",
    "\\",
]
EVIL = "gate evil a { }\nEVIL_WAS_READ ;\n"


@pytest.mark.parametrize("version", ["2", "3"])
def test_no_arrangement_reaches_an_include_file(
    version: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Whatever the screen lets through, the real parser (given a folder holding evil.inc to
    search) never opens evil.inc: a parser that read it would complain about a line of it."""
    from qiskit import qasm2, qasm3

    (tmp_path / "evil.inc").write_text(EVIL)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(PIECES), max_size=12))
    def arrangement(pieces: list[str]) -> None:
        text = f"OPENQASM {version}.0;\n" + "".join(pieces) + "\n"
        try:
            screened = screen_qasm(text, BUILT_IN_INCLUDES[version])
        except QasmRefused:
            return
        capfd.readouterr()
        try:
            if version == "2":
                qasm2.loads(screened, include_path=[str(tmp_path)])
            else:
                qasm3.loads_experimental(screened, include_path=[str(tmp_path)])
            said = ""
        except BaseException as exc:  # the native parser may panic
            if isinstance(exc, KeyboardInterrupt):
                raise
            said = str(exc)
        printed = capfd.readouterr()
        for output in (said, printed.out, printed.err):
            # The program may name "evil.inc"; only a parser that opened it says where in it.
            assert "EVIL_WAS_READ" not in output, (text, output)
            assert "evil.inc:" not in output and str(tmp_path) not in output, (text, output)

    arrangement()


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(
        st.sampled_from(["h q[0];", "// note\n", "/* a\nb */", '"x"', " ", "\n", "\t"]),
        max_size=30,
    ),
    fault=st.sampled_from(['"open\n"', "/* never closed"]),
)
def test_a_refusal_says_where_as_the_user_counts(before: list[str], fault: str) -> None:
    """Lines and columns come from line starts found once (counting newlines from the start
    for every token made the screen quadratic: 74 s for 512 KiB); they still count as an
    editor does."""
    prefix = "".join(before)
    with pytest.raises(QasmRefused) as refused:
        screen_qasm(prefix + fault, BUILT_IN_INCLUDES["2"])
    line = prefix.count("\n") + 1
    col = len(prefix) - (prefix.rfind("\n") + 1) + 1
    assert str(refused.value).startswith(f"line {line}, col {col}:")


def test_a_long_program_is_screened_whole() -> None:
    gates = "h q[0]; // a comment\ncx q[0],q[1]; /* and\nanother */\n" * 20_000
    program = f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n{gates}include "x.inc";\n'
    with pytest.raises(QasmRefused, match=r'^line 60004, col 1: the program includes "x.inc"'):
        screen_qasm(program, BUILT_IN_INCLUDES["2"])
    blanked = screen_qasm(program.replace('include "x.inc";\n', ""), BUILT_IN_INCLUDES["2"])
    assert blanked.count("\n") == program.count("\n") - 1 and "comment" not in blanked


@pytest.mark.parametrize(
    "program",
    [
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[100000000];\ncreg c[1];\n',
        "OPENQASM 3.0;\nqubit[100000000] q;\n",
        "OPENQASM 3.0;\nbit[99999999999999999999999] b;\n",
        "OPENQASM 2.0;\nqreg q[60000];\nqreg r[60000];\n",
        "OPENQASM 3.0;\nqubit[100_000_000] q;\n",
        "OPENQASM 3.0;\nqubit[0x5F5E100] q;\n",
        "OPENQASM 3.0;\nbit[0X5F5E100] c;\n",
        "OPENQASM 3.0;\nqubit[0b101111101011110000100000000] q;\n",
        "OPENQASM 3.0;\nqubit[0o575360400] q;\n",
    ],
    ids=[
        *("qreg", "qubit", "huge-literal", "two-registers", "underscores"),
        *("hex", "HEX", "bin", "oct"),
    ],
)
def test_a_program_declaring_millions_of_bits_is_refused_before_parsing(program: str) -> None:
    """A 90-byte program made the parser build 100 million qubits (gigabytes) before any
    backend's limit was asked."""
    with pytest.raises(ParamsDecodeError, match="declares more than 100,000 qubits and bits"):
        load_qasm(program, "params.pubs[0][0]")


def test_registers_of_ordinary_sizes_pass() -> None:
    program = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[127];\ncreg c[127];\nh q[0];\n'
    assert load_qasm(program, "").num_qubits == 127


def test_a_size_in_other_digits_is_the_parsers_to_refuse() -> None:
    """``q[²]``: str.isdigit said yes and int() raised, a crash of submit and a 2000 at the
    service; now it is no literal here, and the parser refuses the program (1501)."""
    with pytest.raises(ParamsDecodeError):
        load_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[\u00b2];\n', "")


@pytest.mark.parametrize("version", range(5, 19))
def test_a_qpy_header_declaring_millions_of_qubits_is_refused_before_loading(version: int) -> None:
    """A 90-byte QPY payload whose header says 10,000,000 qubits made the loader take
    gigabytes; the header is read first, as each QPY version lays it out. A true header of
    the same versions loads as before."""
    import io
    import struct

    from qiskit import QuantumCircuit, qpy
    from qiskit.qpy import formats

    from qjob_tui.wire.circuits import _declared_bits, load_qpy

    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure([0, 1], [0, 1])
    out = io.BytesIO()
    try:
        qpy.dump(circuit, out, version=version)
    except ValueError:  # this Qiskit no longer writes that version
        pytest.skip(f"this Qiskit does not write QPY version {version}")
    raw = out.getvalue()
    assert _declared_bits(raw) == 4
    assert load_qpy(raw, "").num_qubits == 2
    header = formats.FILE_HEADER_SIZE if version < 10 else formats.FILE_HEADER_V10_SIZE
    at = header + 1
    if version >= 16:
        (at,) = struct.unpack_from(formats.CIRCUIT_TABLE_ENTRY_PACK, raw, at)
    bomb = bytearray(raw)
    struct.pack_into("!I", bomb, at + 5, 10_000_000)  # num_qubits, after name and phase
    with pytest.raises(ParamsDecodeError, match="declares 10,000,002 qubits and bits"):
        load_qpy(bytes(bomb), "params.pubs[0][0]")
