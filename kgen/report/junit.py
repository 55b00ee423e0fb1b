"""JUnit XML: a test suite per file, a test case per finding (CI systems show them as failures)."""

from __future__ import annotations

from itertools import groupby
from xml.etree import ElementTree as ET

from kgen.findings import LintReport
from kgen.report.escape import xml_text


def render(report: LintReport, *, color: bool = False) -> str:
    suites = ET.Element("testsuites", name="kgen lint", tests=str(len(report.findings) or 1))
    suites.set("failures", str(len(report.findings)))
    if not report.findings:
        suite = ET.SubElement(suites, "testsuite", name="kgen lint", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", classname="kgen", name=f"{report.objects} objects in {report.files} files")
    for file, findings in groupby(report.findings, key=lambda f: f.file):
        batch = list(findings)
        suite = ET.SubElement(suites, "testsuite", name=file, tests=str(len(batch)), failures=str(len(batch)), errors="0")
        for f in batch:
            obj = f"{f.object['kind']}/{f.object['name']}" if f.object else file
            case = ET.SubElement(suite, "testcase", classname=f"{f.category}.{f.rule}", name=f"{obj} {f.path}".strip(), file=file, line=str(f.line))
            failure = ET.SubElement(case, "failure", message=f.message, type=f.severity)
            failure.text = f"{file}:{f.line}:{f.column}: {f.severity}: {f.message} [{f.rule}]"
    for element in suites.iter():  # names, paths and messages come from the input: keep the XML valid
        element.attrib.update({key: xml_text(value) for key, value in element.attrib.items()})
        if element.text:
            element.text = xml_text(element.text)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
