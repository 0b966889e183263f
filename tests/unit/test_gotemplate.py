"""Tests for dockyard.cli.gotemplate: Go text/template as docker's ``--format`` uses it.

The DOCKER_* tables hold outputs observed from the real docker CLI 28.2.2 (built with
go1.24.3), recorded as literals so this file needs no docker:

* template name "version": ``docker version --format TEMPLATE`` (templates that do not
  touch the data, or only fail on it in ways independent of docker's typed structs);
  docker prints the output written before an execution error, kept as "partial".
* template name "": ``docker image inspect --format TEMPLATE busybox``.  Templates
  starting with ``{{if .Id}}{{end}}`` make docker's typed execution fail (its Go field
  is ``ID``), so docker re-runs them over the raw JSON map (BUSYBOX below) with
  ``missingkey=error``: that is exactly our data model.

Cases where docker's typed structs print differently from JSON data (``{{.}}`` of a
struct, ``json`` key order of the raw-map fallback, ``join`` on ``[]interface{}``) are
left out on purpose; the module docstring lists those differences.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.cli.gotemplate import (
    HEADER_FUNCS,
    GoFunc,
    Template,
    TemplateError,
    TemplateExecError,
    TemplateSyntaxError,
    parse,
    render,
)

# ``docker image inspect busybox`` on the reference daemon (element 0)
BUSYBOX = {'Id': 'sha256:52c8be21c97be1e3a7202063d7441421931f2c006a5e65b1beaba6668ee05d9a',
 'RepoTags': ['busybox:latest'],
 'RepoDigests': [],
 'Parent': '',
 'Comment': 'Imported from -',
 'Created': '2026-11-23T00:04:59.4111251Z',
 'Container': '',
 'ContainerConfig': {'Hostname': '',
                     'Domainname': '',
                     'User': '',
                     'AttachStdin': False,
                     'AttachStdout': False,
                     'AttachStderr': False,
                     'Tty': False,
                     'OpenStdin': False,
                     'StdinOnce': False,
                     'Env': None,
                     'Cmd': None,
                     'Image': '',
                     'Volumes': None,
                     'WorkingDir': '',
                     'Entrypoint': None,
                     'OnBuild': None,
                     'Labels': None},
 'DockerVersion': '20.10.24+dfsg1',
 'Author': '',
 'Config': {'Hostname': '',
            'Domainname': '',
            'User': '',
            'AttachStdin': False,
            'AttachStdout': False,
            'AttachStderr': False,
            'Tty': False,
            'OpenStdin': False,
            'StdinOnce': False,
            'Env': None,
            'Cmd': ['sh'],
            'Image': '',
            'Volumes': None,
            'WorkingDir': '',
            'Entrypoint': None,
            'OnBuild': None,
            'Labels': None},
 'Architecture': 'amd64',
 'Os': 'linux',
 'Size': 1982957,
 'VirtualSize': 1982957,
 'GraphDriver': {'Data': {'MergedDir': '/tmp/refdocker/data/overlay2/3bfdab8e8e9b27298e98770ce757dae225f4520f5561b2738eecd568f8c17804/merged',
                          'UpperDir': '/tmp/refdocker/data/overlay2/3bfdab8e8e9b27298e98770ce757dae225f4520f5561b2738eecd568f8c17804/diff',
                          'WorkDir': '/tmp/refdocker/data/overlay2/3bfdab8e8e9b27298e98770ce757dae225f4520f5561b2738eecd568f8c17804/work'},
                 'Name': 'overlay2'},
 'RootFS': {'Type': 'layers',
            'Layers': ['sha256:bc6fbd5c81ffd0566b8288e7754cb6dddc9d8d6b24a10486f1485a9e47505402']},
 'Metadata': {'LastTagTime': '2026-11-23T00:19:18.380578784Z'}}

# (template name, template, output)
DOCKER_OK = [('version', '{{1e6}}', '1e+06'),
 ('version',
  '{{123456789.0}} {{100000.0}} {{0.00001}} {{0.0001}} {{1.0}} {{-0.0}} {{1e21}} {{1e20}} {{0.1}} '
  '{{2.5e-7}}',
  '1.23456789e+08 100000 1e-05 0.0001 1 -0 1e+21 1e+20 0.1 2.5e-07'),
 ('version',
  "{{0x10}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{'a'}} {{'\\n'}} {{'\\x41'}} {{'\\u00e9'}} "
  '{{-5}} {{+5}} {{0x1p-2}} {{-0x1E}}',
  '16 15 15 5 1000 97 10 65 233 -5 5 0.25 -30'),
 ('version',
  '{{9223372036854775807}} {{-9223372036854775808}}',
  '9223372036854775807 -9223372036854775808'),
 ('version', '{{1+2i}}', '(1+2i)'),
 ('', '{{"a\\tb\\"c\\\\d\\u00e9\\U0001F600\\101"}}', 'a\tb"c\\dé😀A'),
 ('version', '{{`raw\\n{{x}}`}}', 'raw\\n{{x}}'),
 ('version', '{{true}} {{false}} {{print nil}}', 'true false <nil>'),
 ('version', '{{$x := 1}}{{$x}} {{$x = 2}}{{$x}}', '1 2'),
 ('version',
  '{{if 1}}a{{else}}b{{end}}{{if 0}}a{{else if 1}}c{{else}}b{{end}}{{if ""}}x{{else if '
  '""}}y{{else}}z{{end}}',
  'acz'),
 ('version',
  '{{with "x"}}{{.}}{{end}}{{with ""}}no{{else with "y"}}{{.}}{{end}}{{with 0}}a{{else}}b{{end}}',
  'xyb'),
 ('version', '{{range 0}}x{{else}}empty{{end}}', 'empty'),
 ('version',
  '{{range 5}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}|{{range 5}}{{if eq . '
  '3}}{{continue}}{{end}}{{.}}{{end}}',
  '012|0124'),
 ('version', '{{/* comment */}}a {{- /* c2 */ -}} b', 'ab'),
 ('version', 'a  {{- 1 -}}  b{{- 2}} c {{3 -}} d', 'a1b2 c 3d'),
 ('version', '{{-3}}{{- -3 -}}', '-3-3'),
 ('version', '{{"a" | printf "%s-%s" "b"}}', 'b-a'),
 ('version', '{{1 | printf "%d"}}', '1'),
 ('version', '{{printf "%d" (len "abc")}} {{(len "ab")}}', '3 2'),
 ('version', '{{"é" | len}} {{index "é" 0}} {{slice "héllo" 1 3}}', '2 195 é'),
 ('version', '{{index "abc"}}', 'abc'),
 ('version', '{{slice "abcdef" 1 3}} {{slice "abcdef" 2}} {{slice "abc"}}', 'bc cdef abc'),
 ('version',
  '{{eq 1 1}} {{eq "a" "b" "a"}} {{eq 1.5 1.5}} {{eq true true}} {{ne 1 2}} {{ne "a" "a"}}',
  'true true true true true false'),
 ('version', '{{eq nil nil}}', 'true'),
 ('version', '{{eq 1 nil}}', 'false'),
 ('version',
  '{{lt 1 2}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}} {{lt "a" "b"}} {{lt 1.5 2.5}}',
  'true true true false true true'),
 ('version', '{{not 0}} {{not 1}} {{not ""}} {{not nil}}', 'true false true true'),
 ('version', '{{print 1 2 "a" 3 nil 1.5 true "b" "c"}}', '1 2a3 <nil> 1.5 truebc'),
 ('version', '{{println 1 "a" nil}}x', '1 a <nil>\nx'),
 ('version', '{{print}}|{{println}}|', '|\n|'),
 ('version',
  '{{html "<a href=\'x\'>&\\"</a>"}} {{html nil}} {{html 1 2}} {{html "a" "b"}}',
  '&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt; &lt;no value&gt; 1 2 ab'),
 ('version',
  '{{js "a\'b\\"c<d>e&f=g\\\\h\\ni\\u2028"}} {{js 1}}',
  'a\\\'b\\"c\\u003Cd\\u003Ee\\u0026f\\u003Dg\\\\h\\u000Ai\\u2028 1'),
 ('version', '{{urlquery "a b&c=d/é~_.-"}} {{urlquery "x" 1}}', 'a+b%26c%3Dd%2F%C3%A9~_.- x1'),
 ('version',
  '{{json "<a&b>"}} {{json 1.5}} {{json 1e21}} {{json 1e-7}} {{json 0.000001}} {{json nil}} {{json '
  'true}} {{json 100}}',
  '"<a&b>" 1.5 1e+21 1e-7 0.000001 null true 100'),
 ('version',
  '{{json "\\b\\f\\x01\\u2028\\u2029<>&\\x7f"}}',
  '"\\b\\f\\u0001\\u2028\\u2029<>&\x7f"'),
 ('version',
  '{{split "a,b,c" ","}} {{split "abc" ""}} {{split "" ","}} {{split "a" "a"}}',
  '[a b c] [a b c] [] [ ]'),
 ('version', '{{join (split "a,b,c" ",") "-"}} {{join nil ","}}|', 'a-b-c |'),
 ('version',
  '{{title "hello wORLD-foo_bar éa 1a a1"}} {{upper "abcé"}} {{lower "ABCÉ"}}',
  'Hello WORLD-Foo_bar Éa 1a A1 ABCÉ abcé'),
 ('version', '{{pad "ab" 2 3}}|{{pad "" 2 3}}|', '  ab   ||'),
 ('version', '{{pad "ab" 1.0 0}}', ' ab'),
 ('version',
  '{{truncate "abcdef" 3}} {{truncate "ab" 3}} {{truncate "abc" 3}} {{truncate "abc" 0}}',
  'abc ab abc '),
 ('version', '{{define "T"}}[{{.}}]{{end}}{{template "T" "x"}}{{template "T"}}', '[x][<no value>]'),
 ('version', '{{block "B" 5}}<{{.}}>{{end}}', '<5>'),
 ('version', '{{- "x" -}}\n\n {{- "y"}}\n  z  {{- /* c */ -}}  w', 'xy\n  zw'),
 ('version', '{{define "a"}}x{{end}}{{define "a"}} {{end}}{{template "a"}}', 'x'),
 ('version', '{{printf "%s %s %s %s %s %s %s %s %s %s" 1 2 3 4 5 6 7 8 9 10 | len}}', '110'),
 ('version', '{{if $x := 1}}{{$x}}{{end}}', '1'),
 ('version', '{{range $x := 2}}{{$x}}{{end}}', '01'),
 ('version', '{{$x := 1}}{{if 1}}{{$x := 2}}{{$x}}{{end}}{{$x}}', '21'),
 ('version', '{{$x := 1}}{{if 1}}{{$x = 2}}{{$x}}{{end}}{{$x}}', '22'),
 ('version', '{{$x := 1}}{{range 2}}{{$x = .}}{{end}}{{$x}}', '1'),
 ('version', '{{$ := 1}}', ''),
 ('version', '{{((1))}} {{(((print "a")))}}', '1 a'),
 ('version', '{{print (print 1 2) (len "ab")}}', '1 22'),
 ('version', '{{\'é\'}} {{\'\\\'\'}} {{\'"\'}}', '233 39 34'),
 ('version', '{{0x_1F}} {{0b1_0}} {{0o_7}}', '31 2 7'),
 ('version', '{{.5}} {{5.}} {{-.5}} {{+.5e1}}', '0.5 5 -0.5 5'),
 ('version',
  '{{1i}} {{0i}} {{2.5i}} {{1+0i}} {{-1-2.5i}} {{1e3i}}',
  '(0+1i) (0+0i) (0+2.5i) (1+0i) (-1-2.5i) (0+1000i)'),
 ('version',
  '{{printf "%v %.2f %T %e %d" 1i 1.5i 2i 3i 4i}}',
  '(0+1i) (0.00+1.50i) complex128 (0.000000e+00+3.000000e+00i) %!d(complex128=(0+4i))'),
 ('version', '{{eq 1i 1i}} {{eq 1i 2i}}', 'true false'),
 ('version', '{{$x := .}}', ''),
 ('',
  '{{upper "straße ǆ ŉ ﬁ İı éÀ σς"}}|{{lower "STRASSE ǅ İ Σ ÉÀ Ⅻ"}}|{{title "ǆemal ßtraße élan 1st '
  'x-y a.b a\'b a\\tb a b"}}',
  "STRAßE Ǆ ŉ ﬁ İI ÉÀ ΣΣ|strasse ǆ i σ éà ⅻ|ǅemal ßtraße Élan 1st X-Y A.B A'B A\tB A B"),
 ('',
  '{{title "hello_world foo.bar élan-état über\'all"}}',
  "Hello_world Foo.Bar Élan-État Über'All"),
 ('',
  '{{split "a😀b😀c" "😀"}} {{split "héllo" ""}} {{len (split "héllo" "")}}',
  '[a b c] [h é l l o] 5'),
 ('', '{{truncate "héllo" 2}}|{{truncate "日本語" 4}}|{{truncate "日本語" 3}}', 'h�|日�|日'),
 ('', '{{slice "日本語" 0 3}}|{{slice "héllo" 0 2}}|{{index "é" 1}}', '日|h�|169'),
 ('', '{{printf "%5s|%-5s|%.2s|%5.1s|" "日本語" "é" "日本語" "日本語"}}', '  日本語|é    |日本|    日|'),
 ('',
  '{{html "日本<é>"}} {{js "日本\\u00a0x\\u200b"}} {{urlquery "日本 é"}}',
  '日本&lt;é&gt; 日本\\u00A0x\\u200B %E6%97%A5%E6%9C%AC+%C3%A9'),
 ('', '{{js "\\x7f\\x01\\u0085"}}', '\x7f\\u0001\\u0085'),
 ('',
  '{{printf "%q %+q %#q %x" "日本\\u00a0" "日本" "日本\\n" "日本"}}',
  '"日本\\u00a0" "\\u65e5\\u672c" "日本\\n" e697a5e69cac'),
 ('',
  '{{printf "%c%c%c" 26085 -1 1114112}} {{printf "%q %q %q" 26085 -1 0xD800}} {{printf "%U" -1}}',
  "日�� '日' '�' '�' U+FFFFFFFFFFFFFFFF"),
 ('',
  '{{print 1 2}} {{print "a" "b"}} {{print 1 "a" 2}} {{print true false}} {{print 1.5 2.5}} '
  '{{print nil nil}} {{print "x" nil 1}}',
  '1 2 ab 1a2 true false 1.5 2.5 <nil> <nil> x<nil> 1'),
 ('', '{{println}}|{{println "a" "b" 1}}|', '\n|a b 1\n|'),
 ('',
  '{{printf "%v|%d|%s" true true true}} {{printf "%t|%t" 1 "x"}}',
  'true|%!d(bool=true)|%!s(bool=true) %!t(int=1)|%!t(string=x)'),
 ('',
  '{{printf "%6.3v|%-8v|%08v|%+v|%#v" 3.14159 "ab" 42 5 true}}',
  '  3.14|ab      |00000042|5|true'),
 ('',
  '{{printf "%08s|%-08s|%08q|%8.3q" "ab" "ab" "ab" "abcdef"}}',
  '000000ab|ab      |0000"ab"|   "abc"'),
 ('', '{{printf "%x|%X|%#x|% x|% #x" "" "" "" "" ""}}|{{printf "%5x|" ""}}', '|||||     |'),
 ('', '{{printf "%.3x|%.0x|%-8x|" "abcdef" "abc" "ab"}}', '616263||6162    |'),
 ('',
  '{{printf "%p" 1}} {{printf "%w" 1}} {{printf "%!" 1}} {{printf "%[0]d" 1}} {{printf "%[1]*d" 3 '
  '4}} {{printf "%[2]*[1]d" 1 5}} {{printf "%.[2]d" 1 2}}',
  '%!p(int=1) %!w(int=1) %!!(int=1) %!d(BADINDEX)   4     1 2'),
 ('',
  '{{printf "%[1]d %d %d" 1 2 3}} {{printf "%[3]d %d" 1 2 3}} {{printf "%d %[1]d %d" 1 2}}',
  '1 2 3 3 %!d(MISSING) 1 1 2'),
 ('',
  '{{printf "%*d" 10000000 1}} {{printf "%.*d" 10000000 1}} {{printf "%-*d|" -3 1}} {{printf '
  '"%*d|" -3 1}}',
  '%!(BADWIDTH)1 %!(BADPREC)1 1  | 1  |'),
 ('', '{{printf "%3c|%-4q|%06.2f|%+06d|%x" 65 65 -1.5 -5 -1}}', "  A|'A' |-01.50|-00005|-1"),
 ('',
  '{{printf "%e %E %.0e %g %G" 0.0 -0.0 5.0 -0.0 1e-300}}',
  '0.000000e+00 -0.000000E+00 5e+00 -0 1E-300'),
 ('',
  '{{printf "%v %v %v %v %v" 5e-324 1.7976931348623157e308 2.2250738585072014e-308 0.1 '
  '0.30000000000000004}}',
  '5e-324 1.7976931348623157e+308 2.2250738585072014e-308 0.1 0.30000000000000004'),
 ('',
  '{{printf "%x %X %.3x %b" 5e-324 1.7976931348623157e308 0.1 5e-324}}',
  '0x1p-1074 0X1.FFFFFFFFFFFFFP+1023 0x1.99ap-04 1p-1074'),
 ('', '{{1 | printf "%d %d" 2}} {{"x" | printf}}', '2 1 x'),
 ('', '{{printf "%s"}} {{printf "%d %d %d" 1 2}}', '%!s(MISSING) 1 2 %!d(MISSING)'),
 ('version',
  '{{and 0 (len 3)}} {{or 1 (len 3)}} {{and 1 ""}}|{{or "" 0}}|{{and 1 2 3}}',
  '0 1 |0|3'),
 ('version', '{{1 | and 2}} {{0 | and 2}} {{0 | or 0}} {{"x" | or ""}}', '1 0 0 x'),
 ('version', '{{$i := 9}}{{$v := 9}}{{range $v = 3}}{{$v}}{{end}}{{$v}}', '0122'),
 ('version', '{{$i := 9}}{{range $i = 3}}{{$i}}{{end}}{{$i}}', '0122'),
 ('version', '{{define "t"}}{{$}}|{{.}}{{end}}{{template "t" 5}}', '5|5'),
 ('version', '{{if $x := 0}}a{{else}}{{$x}}{{end}}', '0'),
 ('version', '{{with $x := 0}}a{{else}}{{$x}}{{end}}', '0'),
 ('version', '{{with $x := 0}}a{{else with $y := 3}}{{$y}}{{$x}}{{end}}', '30'),
 ('version', '{{$x := 1}}{{with $x := 2}}{{$x}}{{end}}{{$x}}', '21'),
 ('version', '{{range 2}}{{range 2}}{{break}}{{end}}x{{end}}', 'xx'),
 ('version', '{{range 2}}{{if 1}}{{continue}}{{end}}x{{end}}y', 'y'),
 ('version', '{{range 3}}{{.}}{{if eq . 1}}{{break}}{{end}}{{else}}e{{end}}', '01'),
 ('version', '{{print (1)}} {{(print 1) | len}}', '1 1'),
 ('version', '{{print 1 | print 2 | print 3}}', '321'),
 ('version', '{{slice "abc" 1 | len}}', '2'),
 ('version', '{{index "abc" | len}}', '3'),
 ('version', '{{print | len}}', '0'),
 ('version', '{{3 | eq 1 2}}', 'false'),
 ('version', '{{3 | eq 1 3}}', 'false'),
 ('version', '{{print nil | print}}', '<nil>'),
 ('version', '{{true | not}} {{false | printf "%v"}}', 'false false'),
 ('version', '{{"5" | printf "%d"}}', '%!d(string=5)'),
 ('',
  '{{if '
  '.Id}}{{end}}{{.Config.Entrypoint}}|{{.Config}}|{{.RepoDigests}}|{{.Metadata}}|{{.RepoTags}}',
  '<no value>|map[AttachStderr:false AttachStdin:false AttachStdout:false Cmd:[sh] Domainname: '
  'Entrypoint:<nil> Env:<nil> Hostname: Image: Labels:<nil> OnBuild:<nil> OpenStdin:false '
  'StdinOnce:false Tty:false User: Volumes:<nil> '
  'WorkingDir:]|[]|map[LastTagTime:2026-11-23T00:19:18.380578784Z]|[busybox:latest]'),
 ('',
  '{{if .Id}}{{end}}{{eq .Config.Entrypoint nil}} {{eq .Config.Cmd nil}} {{eq .Config.Entrypoint '
  '"x"}} {{eq .Id "x"}}',
  'true false false false'),
 ('',
  '{{if .Id}}{{end}}{{printf "%v|%d|%s|%q|%x|%5s|%-5s|" .Config.Entrypoint .Config.Env .Config.Cmd '
  '.Config.Cmd .Config.Cmd .Config.Cmd .RepoTags}}',
  '<nil>|%!d(<nil>)|[sh]|["sh"]|[7368]|[   sh]|[busybox:latest]|'),
 ('',
  '{{if .Id}}{{end}}{{printf "%v" .GraphDriver}}',
  'map[Data:map[MergedDir:/tmp/refdocker/data/overlay2/3bfdab8e8e9b27298e98770ce757dae225f4520f5561b2738eecd568f8c17804/merged '
  'UpperDir:/tmp/refdocker/data/overlay2/3bfdab8e8e9b27298e98770ce757dae225f4520f5561b2738eecd568f8c17804/diff '
  'WorkDir:/tmp/refdocker/data/overlay2/3bfdab8e8e9b27298e98770ce757dae225f4520f5561b2738eecd568f8c17804/work] '
  'Name:overlay2]'),
 ('',
  '{{if .Id}}{{end}}{{printf "%#v" .RootFS}}',
  'map[string]interface {}{"Layers":[]interface '
  '{}{"sha256:bc6fbd5c81ffd0566b8288e7754cb6dddc9d8d6b24a10486f1485a9e47505402"}, '
  '"Type":"layers"}'),
 ('',
  '{{if .Id}}{{end}}{{printf "%+v|%T|%T|%T|%T" .RootFS .RootFS .RootFS.Layers .Os .Config.Tty}}',
  'map[Layers:[sha256:bc6fbd5c81ffd0566b8288e7754cb6dddc9d8d6b24a10486f1485a9e47505402] '
  'Type:layers]|map[string]interface {}|[]interface {}|string|bool'),
 ('',
  '{{if .Id}}{{end}}{{printf "%d" .RootFS}}',
  'map[%!d(string=Layers):[%!d(string=sha256:bc6fbd5c81ffd0566b8288e7754cb6dddc9d8d6b24a10486f1485a9e47505402)] '
  '%!d(string=Type):%!d(string=layers)]'),
 ('',
  '{{if .Id}}{{end}}{{printf "%s" .Config}}',
  'map[AttachStderr:%!s(bool=false) AttachStdin:%!s(bool=false) AttachStdout:%!s(bool=false) '
  'Cmd:[sh] Domainname: Entrypoint:<nil> Env:<nil> Hostname: Image: Labels:<nil> OnBuild:<nil> '
  'OpenStdin:%!s(bool=false) StdinOnce:%!s(bool=false) Tty:%!s(bool=false) User: Volumes:<nil> '
  'WorkingDir:]'),
 ('',
  '{{if .Id}}{{end}}{{printf "%t %v %s" .Config.Tty .Config.Tty .Config.Tty}}',
  'false false %!s(bool=false)'),
 ('',
  '{{if .Id}}{{end}}{{printf "%#v" .Config.Env}} {{printf "%#v" .Config.Cmd}}',
  '<nil> []interface {}{"sh"}'),
 ('',
  '{{if .Id}}{{end}}{{range $k, $v := .GraphDriver.Data}}{{$k}}={{len $v}} {{end}}',
  'MergedDir=100 UpperDir=98 WorkDir=98 '),
 ('',
  '{{if .Id}}{{end}}{{range .Config}}{{.}},{{end}}',
  'false,false,false,[sh],,<no value>,<no value>,,,<no value>,<no value>,false,false,false,,<no '
  'value>,,'),
 ('',
  '{{if .Id}}{{end}}{{range $k, $v := .Config}}{{if not $v}}{{continue}}{{end}}{{$k}};{{end}}',
  'Cmd;'),
 ('', '{{if .Id}}{{end}}{{range .Config.Entrypoint}}x{{else}}none{{end}}', 'none'),
 ('', '{{if .Id}}{{end}}{{range $i, $t := .RepoTags}}{{$i}}:{{$t}}{{end}}', '0:busybox:latest'),
 ('', '{{if .Id}}{{end}}{{range .RepoDigests}}x{{else}}empty{{end}}', 'empty'),
 ('',
  '{{if .Id}}{{end}}{{with .Config}}{{.Cmd}}{{end}}{{with .Config.Entrypoint}}x{{else}}y{{end}}',
  '[sh]y'),
 ('',
  '{{if .Id}}{{end}}{{index .Config "Cmd" 0}} {{index .Config "Nope"}} {{index .RepoTags 0}}',
  'sh <no value> busybox:latest'),
 ('',
  '{{if .Id}}{{end}}{{slice .RepoTags 0 1}} {{slice .Id 0 12}} {{slice .Id 7 19}}',
  '[busybox:latest] sha256:52c8b 52c8be21c97b'),
 ('',
  '{{if .Id}}{{end}}{{split .Id ":"}} {{upper .Os}} {{title .Architecture}} {{truncate .Id 12}} '
  '{{pad .Os 1 1}}|',
  '[sha256 52c8be21c97be1e3a7202063d7441421931f2c006a5e65b1beaba6668ee05d9a] LINUX Amd64 '
  'sha256:52c8b  linux |'),
 ('',
  '{{if .Id}}{{end}}{{print .Config.Entrypoint}} {{html .Config.Entrypoint}} {{print '
  '(.Config.Entrypoint)}}',
  '<nil> &lt;no value&gt; <nil>'),
 ('',
  '{{if .Id}}{{end}}{{.Config.Entrypoint | print}} {{.Config.Entrypoint | printf "%v"}}',
  '<nil> <nil>'),
 ('',
  '{{if .Id}}{{end}}{{and .Config.Entrypoint 1}} {{or .Config.Entrypoint .Os}} {{not '
  '.Config.Entrypoint}} {{and .Os .Architecture}}',
  '<no value> linux true amd64'),
 ('', '{{if .Id}}{{end}}{{.Os | printf "%s-%s" .Architecture}}', 'amd64-linux'),
 ('', '{{if .Id}}{{end}}{{$ | len}} {{len $.RepoTags}} {{$.Os}}', '18 1 linux'),
 ('', '{{if .Id}}{{end}}{{with $x := .Config}}{{$x.Cmd}}{{end}}', '[sh]'),
 ('',
  '{{if .Id}}{{end}}{{range $i, $e := .RootFS.Layers}}{{$i}} {{slice $e 0 10}}{{end}}',
  '0 sha256:bc6'),
 ('', '{{if .Id}}{{end}}{{$n := 0}}{{range .Config}}{{$n = 1}}{{end}}{{$n}}', '1'),
 ('', '{{if .Id}}{{end}}{{"a\\tb"}}', 'a\tb'),
 ('',
  '{{if .Id}}{{end}}{{printf "%-20s|%20s|%.3s|%05d|%x|%X|% x|%#x|%q|%+q|%#q" .Os .Architecture .Id '
  '42 .Os .Os .Os .Os "é\\x01" "é" "a`b"}}',
  'linux               |               amd64|sha|00042|6c696e7578|6C696E7578|6c 69 6e 75 '
  '78|0x6c696e7578|"é\\x01"|"\\u00e9"|"a`b"'),
 ('',
  '{{if .Id}}{{end}}{{printf "%08.3f|%-8.2f|%+.1e|%g|%G|%e|%.3g|%#g|%#.3x|%b|%x|% d|%+d" 3.14159 '
  '2.5 12345.678 1e-5 1e21 0.0 1234567.0 1.0 3.0 1.0 -1.5 5 5}}',
  '0003.142|2.50    '
  '|+1.2e+04|1e-05|1E+21|0.000000e+00|1.23e+06|1.00000|0x1.800p+01|4503599627370496p-52|-0x1.8p+00| '
  '5|+5'),
 ('',
  '{{if .Id}}{{end}}{{printf "%c|%q|%U|%#U|%#o|%O|%b|%5.3d|%-05d|%x" 0x1F600 39 0x1F600 0x263A 8 8 '
  '-5 7 3 -255}}',
  "😀|'\\''|U+1F600|U+263A '☺'|010|0o10|-101|  007|3    |-ff"),
 ('',
  '{{if .Id}}{{end}}{{printf "%v %v %v %v" 1e100 1e-100 123456.7 -0.000123}}',
  '1e+100 1e-100 123456.7 -0.000123'),
 ('',
  '{{if .Id}}{{end}}{{printf "%6.2v|%.0f|%.0e|%#.0f|%#.0e|%#v" 3.14159 2.5 2.5 2.5 2.5 1e-7}}',
  '   3.1|2|2e+00|2.|2.e+00|1e-07'),
 ('',
  '{{if .Id}}{{end}}{{printf "%[3]s %[1]s %s" "a" "b" "c"}} {{printf "%[5]d" 1}} {{printf "%[x]d" '
  '1}} {{printf "%d %d" 1}} {{printf "%.*d|%*s|%-*s|" 3 5 -4 "a" 3 "b"}}',
  'c a b %!d(BADINDEX) %!d(BADINDEX) 1 %!d(MISSING) 005|a   |b  |'),
 ('',
  '{{if .Id}}{{end}}{{printf "%*d" "x" 5}} {{printf "%.*d" -1 5}} {{printf "%5%"}} {{printf "%"}} '
  '{{printf "%-"}} {{printf "%é" 1}}',
  '%!(BADWIDTH)5 %!(BADPREC)5 % %!(NOVERB) %!(NOVERB) %!é(int=1)'),
 ('',
  '{{if .Id}}{{end}}{{printf "%s" nil}} {{printf "%v" nil}} {{printf "%d" nil}} {{printf "%T" '
  'nil}} {{printf "%x" "hello"}} {{printf "%X" "é"}} {{printf "%.2x" "hello"}} {{printf "%10x|" '
  '"hi"}}',
  '%!s(<nil>) <nil> %!d(<nil>) <nil> 68656c6c6f C3A9 6865       6869|')]

# (template name, template, error message, output before the error)
DOCKER_ERR = [('version', '{{08}}', 'template: version:1: integer overflow: "08"', ''),
 ('version',
  '{{99999999999999999999}}',
  'template: version:1: integer overflow: "99999999999999999999"',
  ''),
 ('version',
  '{{18446744073709551615}}',
  'template: version:1:2: executing "version" at <18446744073709551615>: 18446744073709551615 '
  'overflows int',
  ''),
 ('version', '{{1e400}}', 'template: version:1: illegal number syntax: "1e400"', ''),
 ('version', '{{1.5.5}}', 'template: version:1: unexpected ".5" in operand', ''),
 ('version', '{{1x}}', 'template: version:1: bad number syntax: "1x"', ''),
 ('version', '{{"\\\'"}}', 'template: version:1: invalid syntax', ''),
 ('version', "{{''}}", 'template: version:1: invalid syntax', ''),
 ('version', "{{'ab'}}", "template: version:1: malformed character constant: 'ab'", ''),
 ('version', '{{"abc}}', 'template: version:1: unterminated quoted string', ''),
 ('version', '{{`abc}}', 'template: version:1: unterminated raw quoted string', ''),
 ('version', "{{'a}}", 'template: version:1: unterminated character constant', ''),
 ('version',
  '{{nil}}',
  'template: version:1:2: executing "version" at <nil>: nil is not a command',
  ''),
 ('version', '{{$x}}', 'template: version:1: undefined variable "$x"', ''),
 ('version',
  '{{$x = 1}}',
  'template: version:1:7: executing "version" at <1>: undefined variable: $x',
  ''),
 ('version',
  '{{range 3}}{{.}}{{end}}|{{range $i := 3}}{{$i}}{{end}}|{{range $i, $v := 3}}{{end}}',
  'template: version:1:73: executing "version" at <3>: can\'t use 3 to iterate over more than one '
  'variable',
  '012|012|'),
 ('version', '{{break}}', 'template: version:1: {{break}} outside {{range}}', ''),
 ('version',
  '{{range 1}}{{else}}{{break}}{{end}}',
  'template: version:1: {{break}} outside {{range}}',
  ''),
 ('version',
  '{{range "abc"}}x{{end}}',
  'template: version:1:8: executing "version" at <"abc">: range can\'t iterate over abc',
  ''),
 ('version',
  '{{range 1.5}}x{{end}}',
  'template: version:1:8: executing "version" at <1.5>: range can\'t iterate over 1.5',
  ''),
 ('version',
  '{{range true}}x{{end}}',
  'template: version:1:8: executing "version" at <true>: range can\'t iterate over true',
  ''),
 ('version',
  '{{range $a, $b, $c := 3}}{{end}}',
  'template: version:1: too many declarations in range',
  ''),
 ('version',
  '{{range $a, 1 := 3}}{{end}}',
  'template: version:1: range can only initialize variables',
  ''),
 ('version',
  '{{with $a, $b := 3}}{{end}}',
  'template: version:1: too many declarations in with',
  ''),
 ('version', '{{if}}{{end}}', 'template: version:1: missing value for if', ''),
 ('version', '{{range}}{{end}}', 'template: version:1: missing value for range', ''),
 ('version', '{{}}', 'template: version:1: missing value for command', ''),
 ('version', '{{end}}', 'template: version:1: unexpected {{end}}', ''),
 ('version', '{{else}}', 'template: version:1: unexpected {{else}}', ''),
 ('version', '{{if 1}}', 'template: version:1: unexpected EOF', ''),
 ('version',
  '{{if 1}}{{else}}{{else}}{{end}}',
  'template: version:1: expected end; found {{else}}',
  ''),
 ('version', '{{.Foo', 'template: version:1: unclosed action', ''),
 ('version', '{{.Foo', 'template: version:1: unclosed action', ''),
 ('version', '{{/* unclosed', 'template: version:1: unclosed comment', ''),
 ('version', '{{/* x */ }}', 'template: version:1: comment ends before closing delimiter', ''),
 ('version', '{{ /* x */ }}', 'template: version:1: unexpected "/" in command', ''),
 ('version',
  '{{"a" | "b"}}',
  'template: version:1: non executable command in pipeline stage 2',
  ''),
 ('version',
  '{{1 2}}',
  'template: version:1:2: executing "version" at <1>: can\'t give argument to non-function 1',
  ''),
 ('version',
  '{{(1) 2}}',
  'template: version:1:2: executing "version" at <(1) 2>: can\'t give argument to non-function 1',
  ''),
 ('version',
  '{{(print "a").Foo}}',
  'template: version:1:9: executing "version" at <"a">: can\'t evaluate field Foo in type string',
  ''),
 ('version',
  '{{len.Foo}}',
  'template: version:1:2: executing "version" at <len>: wrong number of args for len: want 1 got 0',
  ''),
 ('version', '{{"x".Foo}}', 'template: version:1: unexpected . after term "\\"x\\""', ''),
 ('version', '{{1.Foo}}', 'template: version:1: bad number syntax: "1.F"', ''),
 ('version', '{{nil.Foo}}', 'template: version:1: unexpected . after term "nil"', ''),
 ('version',
  '{{(nil).Foo}}',
  'template: version:1:3: executing "version" at <nil>: nil is not a command',
  ''),
 ('version', '{{foo}}', 'template: version:1: function "foo" not defined', ''),
 ('version', '{{.A"b"}}', 'template: version:1: bad character U+0022 \'"\'', ''),
 ('version',
  '{{$x := "s"}}{{$x.Foo}}',
  'template: version:1:17: executing "version" at <$x.Foo>: can\'t evaluate field Foo in type '
  'string',
  ''),
 ('version', '{{@}}', 'template: version:1: unexpected "@" in command', ''),
 ('version', '{{.A é}}', 'template: version:1: function "é" not defined', ''),
 ('version',
  '{{len nil}}',
  'template: version:1:2: executing "version" at <len nil>: error calling len: reflect: call of '
  'reflect.Value.Type on zero Value',
  ''),
 ('version',
  '{{len 3}}',
  'template: version:1:2: executing "version" at <len 3>: error calling len: len of type int',
  ''),
 ('version',
  '{{len 3 4}}',
  'template: version:1:2: executing "version" at <len>: wrong number of args for len: want 1 got 2',
  ''),
 ('version',
  '{{len}}',
  'template: version:1:2: executing "version" at <len>: wrong number of args for len: want 1 got 0',
  ''),
 ('version',
  '{{index "abc" 3}}',
  'template: version:1:2: executing "version" at <index "abc" 3>: error calling index: reflect: '
  'string index out of range',
  ''),
 ('version',
  '{{index "abc" 4}}',
  'template: version:1:2: executing "version" at <index "abc" 4>: error calling index: index out '
  'of range: 4',
  ''),
 ('version',
  '{{index "abc" -1}}',
  'template: version:1:2: executing "version" at <index "abc" -1>: error calling index: index out '
  'of range: -1',
  ''),
 ('version',
  '{{index "abc" 1.0}}',
  'template: version:1:2: executing "version" at <index "abc" 1.0>: error calling index: cannot '
  'index slice/array with type float64',
  ''),
 ('version',
  '{{index "abc" "x"}}',
  'template: version:1:2: executing "version" at <index "abc" "x">: error calling index: cannot '
  'index slice/array with type string',
  ''),
 ('version',
  '{{index nil 1}}',
  'template: version:1:2: executing "version" at <index nil 1>: error calling index: index of '
  'untyped nil',
  ''),
 ('version',
  '{{index 5 1}}',
  'template: version:1:2: executing "version" at <index 5 1>: error calling index: can\'t index '
  'item of type int',
  ''),
 ('version',
  '{{slice "abc" 2 1}}',
  'template: version:1:2: executing "version" at <slice "abc" 2 1>: error calling slice: invalid '
  'slice index: 2 > 1',
  ''),
 ('version',
  '{{slice "abc" 1 2 3}}',
  'template: version:1:2: executing "version" at <slice "abc" 1 2 3>: error calling slice: cannot '
  '3-index slice a string',
  ''),
 ('version',
  '{{slice 5 1}}',
  'template: version:1:2: executing "version" at <slice 5 1>: error calling slice: can\'t slice '
  'item of type int',
  ''),
 ('version',
  '{{slice "abc" 1 2 3 4}}',
  'template: version:1:2: executing "version" at <slice "abc" 1 2 3 4>: error calling slice: too '
  'many slice indexes: 4',
  ''),
 ('version',
  '{{eq 1 1.0}}',
  'template: version:1:2: executing "version" at <eq 1 1.0>: error calling eq: incompatible types '
  'for comparison',
  ''),
 ('version',
  '{{eq 1}}',
  'template: version:1:2: executing "version" at <eq 1>: error calling eq: missing argument for '
  'comparison',
  ''),
 ('version',
  '{{lt "a" 1}}',
  'template: version:1:2: executing "version" at <lt "a" 1>: error calling lt: incompatible types '
  'for comparison',
  ''),
 ('version',
  '{{lt true false}}',
  'template: version:1:2: executing "version" at <lt true false>: error calling lt: invalid type '
  'for comparison',
  ''),
 ('version',
  '{{lt nil 1}}',
  'template: version:1:2: executing "version" at <lt nil 1>: error calling lt: invalid type for '
  'comparison',
  ''),
 ('version',
  '{{ne 1}}',
  'template: version:1:2: executing "version" at <ne>: wrong number of args for ne: want 2 got 1',
  ''),
 ('version',
  '{{and 1 0 2}}{{or 0 "" 3}}{{and 1 2}}{{or 0 ""}}|{{and}}',
  'template: version:1:51: executing "version" at <and>: wrong number of args for and: want at '
  'least 1 got 0',
  '032|'),
 ('version',
  '{{or}}',
  'template: version:1:2: executing "version" at <or>: wrong number of args for or: want at least '
  '1 got 0',
  ''),
 ('version',
  '{{not 1 2}}',
  'template: version:1:2: executing "version" at <not>: wrong number of args for not: want 1 got 2',
  ''),
 ('version',
  '{{call nil}}',
  'template: version:1:2: executing "version" at <call nil>: error calling call: call of nil',
  ''),
 ('version',
  '{{call 1}}',
  'template: version:1:2: executing "version" at <call 1>: error calling call: non-function 1 of '
  'type int',
  ''),
 ('version',
  '{{call}}',
  'template: version:1:2: executing "version" at <call>: wrong number of args for call: want at '
  'least 1 got 0',
  ''),
 ('version',
  '{{json}}',
  'template: version:1:2: executing "version" at <json>: wrong number of args for json: want 1 got '
  '0',
  ''),
 ('version',
  '{{split 1 ","}}',
  'template: version:1:8: executing "version" at <1>: expected string; found 1',
  ''),
 ('version',
  '{{split nil ","}}',
  'template: version:1:8: executing "version" at <nil>: cannot assign nil to string',
  ''),
 ('version',
  '{{join "abc" ","}}',
  'template: version:1:7: executing "version" at <"abc">: can\'t handle "abc" for arg of type '
  '[]string',
  ''),
 ('version',
  '{{join 1 ","}}',
  'template: version:1:7: executing "version" at <1>: can\'t handle 1 for arg of type []string',
  ''),
 ('version',
  '{{pad "ab" -1 0}}',
  'template: version:1:2: executing "version" at <pad "ab" -1 0>: error calling pad: strings: '
  'negative Repeat count',
  ''),
 ('version',
  '{{pad "ab" 1.5 0}}',
  'template: version:1:11: executing "version" at <1.5>: expected integer; found 1.5',
  ''),
 ('version',
  '{{pad "ab" "1" 0}}',
  'template: version:1:11: executing "version" at <"1">: expected integer; found "1"',
  ''),
 ('version',
  '{{truncate "abc" -1}}',
  'template: version:1:2: executing "version" at <truncate "abc" -1>: error calling truncate: '
  'runtime error: slice bounds out of range [:-1]',
  ''),
 ('version',
  '{{upper}}',
  'template: version:1:2: executing "version" at <upper>: wrong number of args for upper: want 1 '
  'got 0',
  ''),
 ('version',
  '{{upper 1}}',
  'template: version:1:8: executing "version" at <1>: expected string; found 1',
  ''),
 ('version',
  '{{template "nope"}}',
  'template: version:1:11: executing "version" at <{{template "nope"}}>: template "nope" not '
  'defined',
  ''),
 ('version',
  '{{define "x"}}{{len 3}}{{end}}{{template "x"}}',
  'template: version:1:16: executing "x" at <len 3>: error calling len: len of type int',
  ''),
 ('version',
  '{{if 1}}{{define "x"}}{{end}}{{end}}',
  'template: version:1: unexpected <define> in command',
  ''),
 ('version', '{{template 1}}', 'template: version:1: unexpected "1" in template clause', ''),
 ('version', '{{| 1}}', 'template: version:1: unexpected "|" in command', ''),
 ('version',
  '{{printf}}',
  'template: version:1:2: executing "version" at <printf>: wrong number of args for printf: want '
  'at least 1 got 0',
  ''),
 ('version',
  '{{printf 1}}',
  'template: version:1:9: executing "version" at <1>: expected string; found 1',
  ''),
 ('version', 'a\nb\n{{foo}}', 'template: version:3: function "foo" not defined', ''),
 ('version', 'a\n{{if 1}}\n{{else}}\nx', 'template: version:4: unexpected EOF', ''),
 ('version', '{{if 1\n}}{{end}}{{end}}', 'template: version:2: unexpected {{end}}', ''),
 ('version',
  '{{1\n2}}',
  'template: version:1:2: executing "version" at <1>: can\'t give argument to non-function 1',
  ''),
 ('version',
  '\n\n{{len 3}}',
  'template: version:3:2: executing "version" at <len 3>: error calling len: len of type int',
  '\n\n'),
 ('version',
  'é{{len 3}}',
  'template: version:1:4: executing "version" at <len 3>: error calling len: len of type int',
  'é'),
 ('version',
  '\nééé {{len 3}}',
  'template: version:2:9: executing "version" at <len 3>: error calling len: len of type int',
  '\nééé '),
 ('version', '{{ -}}x', 'template: version:1: missing value for command', ''),
 ('version', '{{"a" -}}\nb{{-" c"}}', 'template: version:2: illegal number syntax: "-"', ''),
 ('version',
  '{{define "a"}}{{len 3}}{{end}}{{template "a"}}',
  'template: version:1:16: executing "a" at <len 3>: error calling len: len of type int',
  ''),
 ('version',
  '{{define "a"}}\n{{foo}}{{end}}',
  'template: version:2: function "foo" not defined',
  ''),
 ('version',
  '{{define "a"}}x{{end}}{{define "a"}}y{{end}}',
  'template: version:1: template: multiple definition of template "a"',
  ''),
 ('version', '{{define "a"}}{{$x}}{{end}}', 'template: version:1: undefined variable "$x"', ''),
 ('version',
  '{{$x := 1}}{{define "a"}}{{$x}}{{end}}',
  'template: version:1: undefined variable "$x"',
  ''),
 ('version', '{{define "a" 1}}{{end}}', 'template: version:1: unexpected "1" in define clause', ''),
 ('version', '{{define 1}}{{end}}', 'template: version:1: unexpected "1" in define clause', ''),
 ('version',
  '{{define "a"}}{{else}}{{end}}',
  'template: version:1: unexpected {{else}} in define clause',
  ''),
 ('version', '{{define "a"}}', 'template: version:1: unexpected EOF', ''),
 ('version',
  '{{block "b" 1}}{{.}}{{else}}{{end}}',
  'template: version:1: unexpected {{else}} in block clause',
  ''),
 ('version', '{{block}}{{end}}', 'template: version:1: unexpected "}}" in block clause', ''),
 ('version',
  '{{template "a" 1 2}}',
  'template: version:1:11: executing "version" at <{{template "a" 1 2}}>: template "a" not defined',
  ''),
 ('version',
  '{{len "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" 2}}',
  'template: version:1:2: executing "version" at <len>: wrong number of args for len: want 1 got 2',
  ''),
 ('version',
  '{{index "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" 200}}',
  'template: version:1:2: executing "version" at <index '
  '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" 200>: error calling index: index out of '
  'range: 200',
  ''),
 ('version',
  '{{if 1}}{{len 3}}{{end}}',
  'template: version:1:10: executing "version" at <len 3>: error calling len: len of type int',
  ''),
 ('version',
  '{{range $i, $x := 3}}{{end}}',
  'template: version:1:18: executing "version" at <3>: can\'t use 3 to iterate over more than one '
  'variable',
  ''),
 ('version',
  '{{with $x := 1}}{{$x}}{{end}}{{$x}}',
  'template: version:1: undefined variable "$x"',
  ''),
 ('version', '{{$a, $b := 1}}', 'template: version:1: too many declarations in command', ''),
 ('version', '{{$a := 1 := 2}}', 'template: version:1: unexpected ":=" in operand', ''),
 ('version', '{{$a = }}', 'template: version:1: missing value for command', ''),
 ('version', '{{3 | $x := 1}}', 'template: version:1: undefined variable "$x"', ''),
 ('version',
  '{{$x := 1}}{{$x 2}}',
  'template: version:1:13: executing "version" at <$x>: can\'t give argument to non-function $x',
  ''),
 ('version', '{{(1}}', 'template: version:1: unclosed left paren', ''),
 ('version', '{{1)}}', 'template: version:1: unexpected right paren', ''),
 ('version',
  '{{"abcdefghijklmnop" 1}}',
  'template: version:1:2: executing "version" at <"abcdefghijklmnop">: can\'t give argument to '
  'non-function "abcdefghijklmnop"',
  ''),
 ('version',
  '{{1 "abcdefghijklmnop"}}',
  'template: version:1:2: executing "version" at <1>: can\'t give argument to non-function 1',
  ''),
 ('version',
  '{{print "abcdefghijklmnopqrst" foo}}',
  'template: version:1: function "foo" not defined',
  ''),
 ('version',
  '{{if 1 2}}x{{end}}',
  'template: version:1:5: executing "version" at <1>: can\'t give argument to non-function 1',
  ''),
 ('version', '{{with}}{{end}}', 'template: version:1: missing value for with', ''),
 ('version', '{{else if 1}}', 'template: version:1: unexpected {{else}}', ''),
 ('version',
  '{{if 1}}{{else with 2}}{{end}}',
  'template: version:1: unexpected <with> in input',
  ''),
 ('version', '{{with 1}}{{else if 2}}{{end}}', 'template: version:1: unexpected <if> in input', ''),
 ('version',
  '{{range 1}}{{else if 1}}{{end}}{{end}}',
  'template: version:1: unexpected <if> in input',
  ''),
 ('version',
  '{{range 3}}{{break 1}}{{end}}',
  'template: version:1: unexpected "1" in {{break}}',
  ''),
 ('version', '{{continue}}', 'template: version:1: {{continue}} outside {{range}}', ''),
 ('version', '{{end 1}}', 'template: version:1: unexpected "1" in end', ''),
 ('version', '{{else 1}}', 'template: version:1: unexpected "1" in else', ''),
 ('version',
  '{{if 1}}x{{else}}y{{else if 2}}{{end}}',
  'template: version:1: expected end; found {{else}}',
  ''),
 ('version', '{{.X.}}', 'template: version:1: unexpected <.> in operand', ''),
 ('version', '{{$.}}', 'template: version:1: unexpected <.> in operand', ''),
 ('version', '{{$x.Y}}', 'template: version:1: undefined variable "$x"', ''),
 ('version', '{{.X:Y}}', 'template: version:1: expected :=', ''),
 ('version', '{{:}}', 'template: version:1: expected :=', ''),
 ('version', '{{,}}', 'template: version:1: unexpected "," in command', ''),
 ('version', '{{=}}', 'template: version:1: unexpected "=" in command', ''),
 ('version', '{{.X=1}}', "template: version:1: bad character U+003D '='", ''),
 ('version', '{{1 = 2}}', 'template: version:1: unexpected "=" in operand', ''),
 ('version', '{{#}}', 'template: version:1: unexpected "#" in command', ''),
 ('version', '{{"x" ,}}', 'template: version:1: unexpected "," in operand', ''),
 ('version', "{{'\\q'}}", 'template: version:1: invalid syntax', ''),
 ('version', '{{"\\q"}}', 'template: version:1: invalid syntax', ''),
 ('version', '{{"\\400"}}', 'template: version:1: invalid syntax', ''),
 ('version', '{{"\\xZZ"}}', 'template: version:1: invalid syntax', ''),
 ('version', '{{"\\uD800"}}', 'template: version:1: invalid syntax', ''),
 ('version', '{{\'\\"\'}}', 'template: version:1: invalid syntax', ''),
 ('version', '{{0x}}', 'template: version:1: illegal number syntax: "0x"', ''),
 ('version', '{{0xg}}', 'template: version:1: bad number syntax: "0xg"', ''),
 ('version', '{{1e}}', 'template: version:1: illegal number syntax: "1e"', ''),
 ('version', '{{1__0}}', 'template: version:1: illegal number syntax: "1__0"', ''),
 ('version', '{{_1}}', 'template: version:1: function "_1" not defined', ''),
 ('version', '{{1_}}', 'template: version:1: illegal number syntax: "1_"', ''),
 ('version',
  '{{lt 1i 2i}}',
  'template: version:1:2: executing "version" at <lt 1i 2i>: error calling lt: invalid type for '
  'comparison',
  ''),
 ('version',
  '{{json 1i}}|',
  'template: version:1:2: executing "version" at <json 1i>: error calling json: json: unsupported '
  'type: complex128',
  ''),
 ('version', '{{-}}', 'template: version:1: illegal number syntax: "-"', ''),
 ('version', '{{+}}', 'template: version:1: illegal number syntax: "+"', ''),
 ('version', '{{.}}{{.Foo.}}', 'template: version:1: unexpected <.> in operand', ''),
 ('version',
  '{{and 1 (len 3)}}',
  'template: version:1:9: executing "version" at <len 3>: error calling len: len of type int',
  ''),
 ('version',
  '{{$i := 9}}{{$v := 9}}{{range $i, $v = 3}}{{end}}',
  'template: version:1:39: executing "version" at <3>: can\'t use 3 to iterate over more than one '
  'variable',
  ''),
 ('version',
  '{{range $i, $v := 3}}{{end}}',
  'template: version:1:18: executing "version" at <3>: can\'t use 3 to iterate over more than one '
  'variable',
  ''),
 ('version',
  '{{define "t"}}{{$x}}{{end}}{{$x := 1}}',
  'template: version:1: undefined variable "$x"',
  ''),
 ('version',
  '{{range $x := 2}}{{$x}}{{end}}{{$x}}',
  'template: version:1: undefined variable "$x"',
  ''),
 ('version',
  '{{range 2}}{{template "t"}}{{end}}{{define "t"}}{{break}}{{end}}',
  'template: version:1: {{break}} outside {{range}}',
  ''),
 ('version',
  '{{"abc" | slice 1}}',
  'template: version:1:10: executing "version" at <slice 1>: error calling slice: can\'t slice '
  'item of type int',
  ''),
 ('version',
  '{{len | print}}',
  'template: version:1:2: executing "version" at <len>: wrong number of args for len: want 1 got 0',
  ''),
 ('version',
  '{{"x" | len "y"}}',
  'template: version:1:8: executing "version" at <len>: wrong number of args for len: want 1 got 2',
  ''),
 ('version',
  '{{eq 1 | not}}',
  'template: version:1:2: executing "version" at <eq 1>: error calling eq: missing argument for '
  'comparison',
  ''),
 ('version',
  '{{nil | print}}',
  'template: version:1:2: executing "version" at <nil>: nil is not a command',
  ''),
 ('',
  '{{if .Id}}{{end}}{{.Nope}}',
  'template: :1:19: executing "" at <.Nope>: map has no entry for key "Nope"',
  ''),
 ('',
  '{{if .Id}}{{end}}{{.Config.Nope.X}}',
  'template: :1:26: executing "" at <.Config.Nope.X>: map has no entry for key "Nope"',
  ''),
 ('',
  '{{if .Id}}{{end}}{{.Config.Entrypoint.Foo}}',
  'template: :1:26: executing "" at <.Config.Entrypoint.Foo>: nil pointer evaluating interface '
  '{}.Foo',
  ''),
 ('',
  '{{if .Id}}{{end}}{{.Id.Foo}}',
  'template: :1:22: executing "" at <.Id.Foo>: can\'t evaluate field Foo in type interface {}',
  ''),
 ('',
  '{{if .Id}}{{end}}{{$x := .Id}}{{$x.Foo}}',
  'template: :1:34: executing "" at <$x.Foo>: can\'t evaluate field Foo in type string',
  ''),
 ('',
  '{{if .Id}}{{end}}{{(.Config.Entrypoint).Foo}}',
  'template: :1:27: executing "" at <.Config.Entrypoint>: nil data; no entry for key "Foo"',
  ''),
 ('',
  '{{if .Id}}{{end}}{{len .Config.Entrypoint}}',
  'template: :1:19: executing "" at <len .Config.Entrypoint>: error calling len: len of nil '
  'pointer',
  ''),
 ('',
  '{{if .Id}}{{end}}{{len (.Config.Entrypoint)}}',
  'template: :1:19: executing "" at <len (.Config.Entrypoint)>: error calling len: reflect: call '
  'of reflect.Value.Type on zero Value',
  ''),
 ('',
  '{{if .Id}}{{end}}{{$e := .Config.Entrypoint}}{{len $e}}',
  'template: :1:47: executing "" at <len $e>: error calling len: reflect: call of '
  'reflect.Value.Type on zero Value',
  ''),
 ('',
  '{{if .Id}}{{end}}{{eq .Config.Cmd .Config.Cmd}}',
  'template: :1:19: executing "" at <eq .Config.Cmd .Config.Cmd>: error calling eq: non-comparable '
  'type [sh]: []interface {}',
  ''),
 ('',
  '{{if .Id}}{{end}}{{eq .Config .Config}}',
  'template: :1:19: executing "" at <eq .Config .Config>: error calling eq: non-comparable type '
  'map[AttachStderr:%!s(bool=false) AttachStdin:%!s(bool=false) AttachStdout:%!s(bool=false) '
  'Cmd:[sh] Domainname: Entrypoint:<nil> Env:<nil> Hostname: Image: Labels:<nil> OnBuild:<nil> '
  'OpenStdin:%!s(bool=false) StdinOnce:%!s(bool=false) Tty:%!s(bool=false) User: Volumes:<nil> '
  'WorkingDir:]: map[string]interface {}',
  ''),
 ('',
  '{{if .Id}}{{end}}{{eq .Config "x"}}',
  'template: :1:19: executing "" at <eq .Config "x">: error calling eq: incompatible types for '
  'comparison',
  ''),
 ('',
  '{{if .Id}}{{end}}{{eq .Config.Cmd .Config}}',
  'template: :1:19: executing "" at <eq .Config.Cmd .Config>: error calling eq: non-comparable '
  'types [sh]: []interface {}, map[string]interface {}: map[AttachStderr:false AttachStdin:false '
  'AttachStdout:false Cmd:[sh] Domainname: Entrypoint:<nil> Env:<nil> Hostname: Image: '
  'Labels:<nil> OnBuild:<nil> OpenStdin:false StdinOnce:false Tty:false User: Volumes:<nil> '
  'WorkingDir:]',
  ''),
 ('',
  '{{if .Id}}{{end}}{{range $v := .Config}}{{len $v}}{{end}}',
  'template: :1:42: executing "" at <len $v>: error calling len: len of type bool',
  ''),
 ('',
  '{{if .Id}}{{end}}{{range .Config}}{{len .}}{{end}}',
  'template: :1:36: executing "" at <len .>: error calling len: len of type bool',
  ''),
 ('',
  '{{if .Id}}{{end}}{{range .Config}}{{.Foo}}{{end}}',
  'template: :1:36: executing "" at <.Foo>: can\'t evaluate field Foo in type interface {}',
  ''),
 ('',
  '{{if .Id}}{{end}}{{index .Config "Entrypoint" 0}}',
  'template: :1:19: executing "" at <index .Config "Entrypoint" 0>: error calling index: index of '
  'nil pointer',
  ''),
 ('',
  '{{if .Id}}{{end}}{{index .RepoTags 1}}',
  'template: :1:19: executing "" at <index .RepoTags 1>: error calling index: reflect: slice index '
  'out of range',
  ''),
 ('',
  '{{if .Id}}{{end}}{{index .RepoTags 2}}',
  'template: :1:19: executing "" at <index .RepoTags 2>: error calling index: index out of range: '
  '2',
  ''),
 ('',
  '{{if .Id}}{{end}}{{index .Config 1}}',
  'template: :1:19: executing "" at <index .Config 1>: error calling index: value has type int; '
  'should be string',
  ''),
 ('',
  '{{if .Id}}{{end}}{{index .Config nil}}',
  'template: :1:19: executing "" at <index .Config nil>: error calling index: value is nil; should '
  'be of type string',
  ''),
 ('',
  '{{if .Id}}{{end}}{{index .RepoTags nil}}',
  'template: :1:19: executing "" at <index .RepoTags nil>: error calling index: cannot index '
  'slice/array with nil',
  ''),
 ('',
  '{{if .Id}}{{end}}{{json .Nope}}',
  'template: :1:24: executing "" at <.Nope>: map has no entry for key "Nope"',
  ''),
 ('',
  '{{if .Id}}{{end}}{{upper .Config.Cmd}}',
  'template: :1:32: executing "" at <.Config.Cmd>: wrong type for value; expected string; got '
  '[]interface {}',
  ''),
 ('',
  '{{if .Id}}{{end}}{{upper .Config.Entrypoint}}',
  'template: :1:32: executing "" at <.Config.Entrypoint>: wrong type for value; expected string; '
  'got interface {}',
  ''),
 ('',
  '{{if .Id}}{{end}}{{upper .Config.Tty}}',
  'template: :1:32: executing "" at <.Config.Tty>: wrong type for value; expected string; got bool',
  ''),
 ('',
  '{{if .Id}}{{end}}{{print .Config.Entrypoint .Nope}}',
  'template: :1:44: executing "" at <.Nope>: map has no entry for key "Nope"',
  ''),
 ('',
  '{{if .Id}}{{end}}{{.Config.Entrypoint | len}}',
  'template: :1:40: executing "" at <len>: error calling len: reflect: call of reflect.Value.Type '
  'on zero Value',
  ''),
 ('',
  '{{if .Id}}{{end}}{{.Os .Architecture}}',
  'template: :1:19: executing "" at <.Os>: Os is not a method but has arguments',
  ''),
 ('',
  '{{if .Id}}{{end}}{{.Config.Cmd | .Os}}',
  'template: :1:33: executing "" at <.Os>: Os is not a method but has arguments',
  ''),
 ('',
  '{{if .Id}}{{end}}{{define "t"}}<{{.Os}}>{{end}}{{template "t" .}}{{template "t" .Config}}',
  'template: :1:34: executing "t" at <.Os>: map has no entry for key "Os"',
  ''),
 ('',
  '{{if .Id}}{{end}}{{define "t"}}<{{len .}}>{{end}}{{template "t" .Config.Entrypoint}}',
  'template: :1:34: executing "t" at <len .>: error calling len: reflect: call of '
  'reflect.Value.Type on zero Value',
  ''),
 ('',
  '{{if .Id}}{{end}}{{call .Os}}',
  'template: :1:19: executing "" at <call .Os>: error calling call: non-function .Os of type '
  'string',
  ''),
 ('',
  '{{if .Id}}{{end}}{{call .Nope}}',
  'template: :1:24: executing "" at <.Nope>: map has no entry for key "Nope"',
  ''),
 ('',
  '{{if .Id}}{{end}}{{printf "%d" 1 nil "x" 1.5}} {{printf "" 1}} {{printf "%v" .RepoTags .Nope}}',
  'template: :1:87: executing "" at <.Nope>: map has no entry for key "Nope"',
  '')]

# (template, output): a fuzz of fmt verbs over floats and ints
DOCKER_PRINTF = [('{{printf "%e~%b~%f~%G~%#v~%g" 3.814340289219739e-07 3.814340289219739e-07 3.814340289219739e-07 '
  '3.814340289219739e-07 3.814340289219739e-07 3.814340289219739e-07}}',
  '3.814340e-07~7205085094428242p-74~0.000000~3.814340289219739E-07~3.814340289219739e-07~3.814340289219739e-07'),
 ('{{printf "%08.2f~%6.2v~%e~%-12.3e|~%#.0e~%b" 21.0 21.0 21.0 21.0 21.0 21.0}}',
  '00021.00~    21~2.100000e+01~2.100e+01   |~2.e+01~5910974510923776p-48'),
 ('{{printf "%-12.3e|~%.1g~%#x~%#v~%g~%#.0e" 3.9221898626350623e+18 3.9221898626350623e+18 '
  '3.9221898626350623e+18 3.9221898626350623e+18 3.9221898626350623e+18 3.9221898626350623e+18}}',
  '3.922e+18   |~4e+18~0x1.b373573200022p+61~3.9221898626350623e+18~3.9221898626350623e+18~4.e+18'),
 ('{{printf "%g~%b~%.3g~%#g~%08.2f~%#.0e" 6.836040002524389e-11 6.836040002524389e-11 '
  '6.836040002524389e-11 6.836040002524389e-11 6.836040002524389e-11 6.836040002524389e-11}}',
  '6.836040002524389e-11~5289129768300921p-86~6.84e-11~6.836040002524389e-11~00000.00~7.e-11'),
 ('{{printf "%f~%#v~%#x~%.1g~%10.4f~%G" 1329861817.6025743 1329861817.6025743 1329861817.6025743 '
  '1329861817.6025743 1329861817.6025743 1329861817.6025743}}',
  '1329861817.602574~1.3298618176025743e+09~0x1.3d1052e669094p+30~1e+09~1329861817.6026~1.3298618176025743E+09'),
 ('{{printf "%#v~%g~%.10g~%10.4f~%x~%b" 424.22153149230735 424.22153149230735 424.22153149230735 '
  '424.22153149230735 424.22153149230735 424.22153149230735}}',
  '424.22153149230735~424.22153149230735~424.2215315~  '
  '424.2215~0x1.a838b649b27e8p+08~7462984106059752p-44'),
 ('{{printf "%G~%#g~%-12.3e|~%.0f~%#.0e~%e" -0.4201896046871394 -0.4201896046871394 '
  '-0.4201896046871394 -0.4201896046871394 -0.4201896046871394 -0.4201896046871394}}',
  '-0.4201896046871394~-0.4201896046871394~-4.202e-01  |~-0~-4.e-01~-4.201896e-01'),
 ('{{printf "%6.2v~% .3f~%#g~%.10g~%e~%f" -27056439.257670984 -27056439.257670984 '
  '-27056439.257670984 -27056439.257670984 -27056439.257670984 -27056439.257670984}}',
  '-2.7e+07~-27056439.258~-2.7056439257670984e+07~-27056439.26~-2.705644e+07~-27056439.257671'),
 ('{{printf "%.3g~%x~%08.2f~%g~%e~%b" -1.2693980733249546e-06 -1.2693980733249546e-06 '
  '-1.2693980733249546e-06 -1.2693980733249546e-06 -1.2693980733249546e-06 '
  '-1.2693980733249546e-06}}',
  '-1.27e-06~-0x1.54c05f1202d6ep-20~-0000.00~-1.2693980733249546e-06~-1.269398e-06~-5994562914889070p-72'),
 ('{{printf "%#.3g~%#x~%G~%.10g~%x~%#v" -2.469898109656871e+20 -2.469898109656871e+20 '
  '-2.469898109656871e+20 -2.469898109656871e+20 -2.469898109656871e+20 -2.469898109656871e+20}}',
  '-2.47e+20~-0x1.ac75828ee2d52p+67~-2.469898109656871E+20~-2.46989811e+20~-0x1.ac75828ee2d52p+67~-2.469898109656871e+20'),
 ('{{printf "%e~%+.2e~%x~%6.2v~%g~%#g" -7692699.0 -7692699.0 -7692699.0 -7692699.0 -7692699.0 '
  '-7692699.0}}',
  '-7.692699e+06~-7.69e+06~-0x1.d5866cp+22~-7.7e+06~-7.692699e+06~-7.692699e+06'),
 ('{{printf "%#g~%#x~%E~%G~%v~% .3f" 4953222.0 4953222.0 4953222.0 4953222.0 4953222.0 4953222.0}}',
  '4.953222e+06~0x1.2e5218p+22~4.953222E+06~4.953222E+06~4.953222e+06~ 4953222.000'),
 ('{{printf "%g~%10.4f~%#g~%.3g~%-12.3e|~%E" -40181219076.6431 -40181219076.6431 -40181219076.6431 '
  '-40181219076.6431 -40181219076.6431 -40181219076.6431}}',
  '-4.01812190766431e+10~-40181219076.6431~-4.01812190766431e+10~-4.02e+10~-4.018e+10  '
  '|~-4.018122E+10'),
 ('{{printf "%.0f~% .3f~%E~%b~%+.2e~%.3g" 1.748288265805543e+20 1.748288265805543e+20 '
  '1.748288265805543e+20 1.748288265805543e+20 1.748288265805543e+20 1.748288265805543e+20}}',
  '174828826580554285056~ '
  '174828826580554285056.000~1.748288E+20~5335352373674142p+15~+1.75e+20~1.75e+20'),
 ('{{printf "%#x~%08.2f~%G~%E~%-12.3e|~%.3g" 86.4 86.4 86.4 86.4 86.4 86.4}}',
  '0x1.599999999999ap+06~00086.40~86.4~8.640000E+01~8.640e+01   |~86.4'),
 ('{{printf "%#.0e~%-12.3e|~%v~%x~%#v~%.0f" -697.4032337671987 -697.4032337671987 '
  '-697.4032337671987 -697.4032337671987 -697.4032337671987 -697.4032337671987}}',
  '-7.e+02~-6.974e+02  |~-697.4032337671987~-0x1.5cb39d2a01617p+09~-697.4032337671987~-697'),
 ('{{printf "%08.2f~%b~%G~%.10g~%#v~%#.3g" -991.8127932298721 -991.8127932298721 '
  '-991.8127932298721 -991.8127932298721 -991.8127932298721 -991.8127932298721}}',
  '-0991.81~-8724077589865904p-43~-991.8127932298721~-991.8127932~-991.8127932298721~-992.'),
 ('{{printf "%.10g~%.1g~%#.0e~%g~% .3f~%b" 69.0494 69.0494 69.0494 69.0494 69.0494 69.0494}}',
  '69.0494~7e+01~7.e+01~69.0494~ 69.049~4858919564221193p-46'),
 ('{{printf "%x~%.1g~%E~%g~%10.4f~%e" 578.38469972798 578.38469972798 578.38469972798 '
  '578.38469972798 578.38469972798 578.38469972798}}',
  '0x1.21313dd7373a2p+09~6e+02~5.783847E+02~578.38469972798~  578.3847~5.783847e+02'),
 ('{{printf "%#.3g~%.10g~%g~%f~%v~%#v" 44.0 44.0 44.0 44.0 44.0 44.0}}',
  '44.0~44~44~44.000000~44~44'),
 ('{{printf "%G~%.10g~%v~%e~%10.4f~%E" -797.071263954807 -797.071263954807 -797.071263954807 '
  '-797.071263954807 -797.071263954807 -797.071263954807}}',
  '-797.071263954807~-797.071264~-797.071263954807~-7.970713e+02~ -797.0713~-7.970713E+02'),
 ('{{printf "%G~%.10g~%6.2v~%x~%f~%#x" -495.48448688584546 -495.48448688584546 -495.48448688584546 '
  '-495.48448688584546 -495.48448688584546 -495.48448688584546}}',
  '-495.48448688584546~-495.4844869~-5e+02~-0x1.ef7c0755220c1p+08~-495.484487~-0x1.ef7c0755220c1p+08'),
 ('{{printf "%x~%6.2v~%#g~%e~%.3g~%f" 99.31 99.31 99.31 99.31 99.31 99.31}}',
  '0x1.8d3d70a3d70a4p+06~    99~99.3100~9.931000e+01~99.3~99.310000'),
 ('{{printf "%x~%#x~%.0f~%.2x~%v~%10.4f" -1116233.0 -1116233.0 -1116233.0 -1116233.0 -1116233.0 '
  '-1116233.0}}',
  '-0x1.10849p+20~-0x1.10849p+20~-1116233~-0x1.11p+20~-1.116233e+06~-1116233.0000'),
 ('{{printf "%#x~%b~%v~%.2x~%#g~%e" 52.8 52.8 52.8 52.8 52.8 52.8}}',
  '0x1.a666666666666p+05~7430939385161318p-47~52.8~0x1.a6p+05~52.8000~5.280000e+01'),
 ('{{printf "%.2x~%G~%.0f~%#x~%-12.3e|~%b" -1238428.0 -1238428.0 -1238428.0 -1238428.0 -1238428.0 '
  '-1238428.0}}',
  '-0x1.2ep+20~-1.238428E+06~-1238428~-0x1.2e59cp+20~-1.238e+06  |~-5319007758450688p-32'),
 ('{{printf "%.10g~%10.4f~%-12.3e|~%E~%#.0e~%#x" 3979145.8632351235 3979145.8632351235 '
  '3979145.8632351235 3979145.8632351235 3979145.8632351235 3979145.8632351235}}',
  '3979145.863~3979145.8632~3.979e+06   |~3.979146E+06~4.e+06~0x1.e5bc4ee7e7d1p+21'),
 ('{{printf "%v~%+.2e~%x~%#x~%10.4f~%G" 14.31574995243081 14.31574995243081 14.31574995243081 '
  '14.31574995243081 14.31574995243081 14.31574995243081}}',
  '14.31574995243081~+1.43e+01~0x1.ca1a9fa4ececap+03~0x1.ca1a9fa4ececap+03~   '
  '14.3157~14.31574995243081'),
 ('{{printf "%G~%e~%-12.3e|~%f~%#.0e~%x" -4.67503048553883e+22 -4.67503048553883e+22 '
  '-4.67503048553883e+22 -4.67503048553883e+22 -4.67503048553883e+22 -4.67503048553883e+22}}',
  '-4.67503048553883E+22~-4.675030e+22~-4.675e+22  '
  '|~-46750304855388296577024.000000~-5.e+22~-0x1.3ccad9f187d5ep+75'),
 ('{{printf "%.10g~%6.2v~%v~%x~%G~%e" -591.253273447554 -591.253273447554 -591.253273447554 '
  '-591.253273447554 -591.253273447554 -591.253273447554}}',
  '-591.2532734~-5.9e+02~-591.253273447554~-0x1.27a06b43ab184p+09~-591.253273447554~-5.912533e+02'),
 ('{{printf "%#x~%10.4f~%x~%.0f~%08.2f~%#.3g" 11.99 11.99 11.99 11.99 11.99 11.99}}',
  '0x1.7fae147ae147bp+03~   11.9900~0x1.7fae147ae147bp+03~12~00011.99~12.0'),
 ('{{printf "%6.2v~%E~% .3f~%#x~%e~%.0f" 892.3306907960366 892.3306907960366 892.3306907960366 '
  '892.3306907960366 892.3306907960366 892.3306907960366}}',
  '8.9e+02~8.923307E+02~ 892.331~0x1.be2a541375086p+09~8.923307e+02~892'),
 ('{{printf "%.3g~%#v~% .3f~%.1g~%6.2v~%x" -745.9232654042713 -745.9232654042713 '
  '-745.9232654042713 -745.9232654042713 -745.9232654042713 -745.9232654042713}}',
  '-746~-745.9232654042713~-745.923~-7e+02~-7.5e+02~-0x1.74f62d8f8e6fdp+09'),
 ('{{printf "%.3g~%b~%#x~%6.2v~%v~%.10g" 1757725.0 1757725.0 1757725.0 1757725.0 1757725.0 '
  '1757725.0}}',
  '1.76e+06~7549371390361600p-32~0x1.ad21dp+20~1.8e+06~1.757725e+06~1757725'),
 ('{{printf "%.2x~%.3g~%08.2f~%10.4f~%.1g~%v" -6551543.0 -6551543.0 -6551543.0 -6551543.0 '
  '-6551543.0 -6551543.0}}',
  '-0x1.90p+22~-6.55e+06~-6551543.00~-6551543.0000~-7e+06~-6.551543e+06'),
 ('{{printf "%-12.3e|~%#v~%#.3g~%+.2e~%b~%08.2f" -414.06669465956213 -414.06669465956213 '
  '-414.06669465956213 -414.06669465956213 -414.06669465956213 -414.06669465956213}}',
  '-4.141e+02  |~-414.06669465956213~-414.~-4.14e+02~-7284338327247410p-44~-0414.07'),
 ('{{printf "% .3f~%#.0e~%#v~%.2x~%08.2f~%.1g" 6.09 6.09 6.09 6.09 6.09 6.09}}',
  ' 6.090~6.e+00~6.09~0x1.86p+02~00006.09~6'),
 ('{{printf "%.2x~%v~% .3f~%.0f~%.10g~%#x" -696.3272314741228 -696.3272314741228 '
  '-696.3272314741228 -696.3272314741228 -696.3272314741228 -696.3272314741228}}',
  '-0x1.5cp+09~-696.3272314741228~-696.327~-696~-696.3272315~-0x1.5c29e2b88fca2p+09'),
 ('{{printf "%.0f~%.3g~%x~%.10g~%f~%b" -4973463.0 -4973463.0 -4973463.0 -4973463.0 -4973463.0 '
  '-4973463.0}}',
  '-4973463~-4.97e+06~-0x1.2f8e5cp+22~-4973463~-4973463.000000~-5340215233216512p-30'),
 ('{{printf "%.2x~%b~%x~%f~%#x~%g" 364.6627294771181 364.6627294771181 364.6627294771181 '
  '364.6627294771181 364.6627294771181 364.6627294771181}}',
  '0x1.6dp+08~6415214580426004p-44~0x1.6ca9a8a396514p+08~364.662729~0x1.6ca9a8a396514p+08~364.6627294771181'),
 ('{{printf "%8.3d~%#b~%c~%v~%5d~%#08x" -46 -46 -46 -46 -46 -46}}',
  '    -046~-0b101110~�~-46~  -46~-0x000002e'),
 ('{{printf "%#b~%8.3d~%c~%.3d~%#08x~%x" 26136 26136 26136 26136 26136 26136}}',
  '0b110011000011000~   26136~昘~26136~0x00006618~6618'),
 ('{{printf "%#b~%05d~%b~%-5d|~%O~%+.3d" 927910039828 927910039828 927910039828 927910039828 '
  '927910039828 927910039828}}',
  '0b1101100000001011101111111001000100010100~927910039828~1101100000001011101111111001000100010100~927910039828|~0o15401357710424~+927910039828'),
 ('{{printf "%5d~% d~%#x~%-5d|~%05d~%#o" 0 0 0 0 0 0}}', '    0~ 0~0x0~0    |~00000~0'),
 ('{{printf "%x~%-5d|~%O~%.3d~%+d~%+.3d" 0 0 0 0 0 0}}', '0~0    |~0o0~000~+0~+000'),
 ('{{printf "%b~% d~%#o~%o~%5d~%.0d" 52928 52928 52928 52928 52928 52928}}',
  '1100111011000000~ 52928~0147300~147300~52928~52928'),
 ('{{printf "%+.3d~%v~%O~%o~%8.3d~%#x" 0 0 0 0 0 0}}', '+000~0~0o0~0~     000~0x0'),
 ('{{printf "%-5d|~%5d~%X~%.0d~%d~%+d" -858434550547 -858434550547 -858434550547 -858434550547 '
  '-858434550547 -858434550547}}',
  '-858434550547|~-858434550547~-C7DEAFBB13~-858434550547~-858434550547~-858434550547'),
 ('{{printf "%O~%05d~%c~%8.3d~%q~%.3d" 55345 55345 55345 55345 55345 55345}}',
  "0o154061~55345~�~   55345~'�'~55345"),
 ('{{printf "%b~%5d~%X~%v~%#08x~%.0d" -389730406717 -389730406717 -389730406717 -389730406717 '
  '-389730406717 -389730406717}}',
  '-101101010111101101111100001000100111101~-389730406717~-5ABDBE113D~-389730406717~-0x5abdbe113d~-389730406717'),
 ('{{printf "%X~%-5d|~%#b~%v~%o~%c" -215 -215 -215 -215 -215 -215}}',
  '-D7~-215 |~-0b11010111~-215~-327~�'),
 ('{{printf "%8.3d~%x~%-5d|~%+d~%X~%d" 127 127 127 127 127 127}}',
  '     127~7f~127  |~+127~7F~127'),
 ('{{printf "%#x~%#b~%8.3d~%+d~%X~%#o" 380024499180 380024499180 380024499180 380024499180 '
  '380024499180 380024499180}}',
  '0x587b39abec~0b101100001111011001110011010101111101100~380024499180~+380024499180~587B39ABEC~05417316325754'),
 ('{{printf "%v~%8.3d~%c~% d~%#08x~%.3d" -282 -282 -282 -282 -282 -282}}',
  '-282~    -282~�~-282~-0x000011a~-282'),
 ('{{printf "%#08x~%.3d~%c~%O~%8.3d~%#x" 0 0 0 0 0 0}}', '0x00000000~000~\x00~0o0~     000~0x0')]

def _data_for(name: str):
    return (BUSYBOX, "error") if name == "" else ({}, "default")


@pytest.mark.parametrize(("name", "template", "expected"), DOCKER_OK,
                         ids=[f"ok{i}" for i in range(len(DOCKER_OK))])
def test_output_matches_docker(name, template, expected):
    data, missingkey = _data_for(name)
    assert render(template, data, name=name, missingkey=missingkey) == expected


@pytest.mark.parametrize(("name", "template", "message", "partial"), DOCKER_ERR,
                         ids=[f"err{i}" for i in range(len(DOCKER_ERR))])
def test_error_matches_docker(name, template, message, partial):
    data, missingkey = _data_for(name)
    with pytest.raises(TemplateError) as ei:
        render(template, data, name=name, missingkey=missingkey)
    assert str(ei.value) == message
    if "executing" in message:
        assert isinstance(ei.value, TemplateExecError)
        if name == "version":  # docker inspect buffers its output; docker version does not
            assert ei.value.partial == partial
    else:
        assert isinstance(ei.value, TemplateSyntaxError)


@pytest.mark.parametrize(("template", "expected"), DOCKER_PRINTF,
                         ids=[f"printf{i}" for i in range(len(DOCKER_PRINTF))])
def test_printf_matches_docker(template, expected):
    assert render(template, {}) == expected


# --- the data model: JSON-like values -----------------------------------------------------

PS_ROW = {"ID": "c6190dae49c7", "Image": "busybox", "Command": '"sleep 100"',
          "Names": "dyx2", "Ports": "", "Labels": {"b": "2", "a": "1"},
          "Mounts": ["/data", "/logs"], "Size": 1982957, "Ratio": 0.5, "Null": None}


@pytest.mark.parametrize(("template", "expected"), [
    ("{{.ID}}\t{{.Image}}\t{{.Names}}", "c6190dae49c7\tbusybox\tdyx2"),
    ("{{.Command}}", '"sleep 100"'),
    ("{{.Labels}}", "map[a:1 b:2]"),                         # Go prints maps sorted by key
    ("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "a=1;b=2;"),  # and ranges sorted
    ("{{range .Labels}}{{.}}{{end}}", "12"),
    ("{{.Labels.a}} {{index .Labels \"b\"}} {{index .Labels \"zz\"}}", "1 2 <no value>"),
    ("{{.Mounts}} {{len .Mounts}} {{index .Mounts 1}}", "[/data /logs] 2 /logs"),
    ("{{join .Mounts \",\"}}", "/data,/logs"),
    ("{{.Size}} {{.Ratio}} {{printf \"%.1f\" .Ratio}}", "1982957 0.5 0.5"),
    ("{{.Missing}}|{{.Missing.Deeper}}|{{.Null}}", "<no value>|<no value>|<no value>"),
    ("{{print .Missing .Null}}|{{printf \"%v\" .Null}}", "<nil> <nil>|<nil>"),
    ("{{if .Ports}}ports{{else}}none{{end}} {{if .Labels}}labels{{end}}", "none labels"),
    ("{{json .}}", '{"ID":"c6190dae49c7","Image":"busybox","Command":"\\"sleep 100\\"",'
                   '"Names":"dyx2","Ports":"","Labels":{"b":"2","a":"1"},'
                   '"Mounts":["/data","/logs"],"Size":1982957,"Ratio":0.5,"Null":null}'),
    ("{{.}}", "map[Command:\"sleep 100\" ID:c6190dae49c7 Image:busybox Labels:map[a:1 b:2] "
              "Mounts:[/data /logs] Names:dyx2 Null:<nil> Ports: Ratio:0.5 Size:1982957]"),
    ("{{range .Mounts}}{{.}}\n{{end}}", "/data\n/logs\n"),
    ("{{- range .Mounts }}\n  {{ . -}}\n{{ end }}", "\n  /data\n  /logs"),
    ("{{with .Labels}}{{.a}}{{end}}{{with .Ports}}x{{else}}-{{end}}", "1-"),
    ("{{$first := index .Mounts 0}}{{$first}} {{$.Names}}", "/data dyx2"),
    ("{{upper .Names | printf \"%-6s|\"}}", "DYX2  |"),
    ("{{title (lower \"HELLO world\")}} {{pad .Names 1 2}}| {{truncate .ID 6}}",
     "Hello World  dyx2  | c6190d"),
    ("{{split \"a:b\" \":\"}} {{json (split \"a:b\" \":\")}}", '[a b] ["a","b"]'),
])
def test_json_like_data(template, expected):
    assert render(template, PS_ROW) == expected


def test_json_preserves_dict_order_and_go_encoding():
    data = {"z": 1, "a": [1.0, 1e21, 1e-7, 0.000001, -0.0], "s": "<a&b>\u2028\x01\t\U0001F600"}
    assert render("{{json .}}", data) == (
        '{"z":1,"a":[1,1e+21,1e-7,0.000001,-0],"s":"<a&b>\\u2028\\u0001\\t\U0001F600"}')


def test_missing_none_and_no_data():
    assert render("{{.}}|{{.X}}|{{$}}", None) == "<no value>|<no value>|<no value>"
    assert render("{{.X.Y}}", {}) == "<no value>"
    with pytest.raises(TemplateExecError, match=r"at <\.Null\.X>: nil pointer evaluating "
                                                r"interface \{\}\.X$"):
        render("{{.Null.X}}", PS_ROW)
    with pytest.raises(TemplateExecError, match=r"can't evaluate field X in type interface \{\}"):
        render("{{.Size.X}}", PS_ROW)
    with pytest.raises(TemplateExecError, match=r"can't evaluate field X in type string"):
        render("{{.X}}", "a string")


def test_missingkey_option():
    assert render("{{.Nope}}", {}, missingkey="zero") == "<no value>"
    with pytest.raises(TemplateExecError) as ei:
        render("{{.Nope}}", {}, missingkey="error")
    assert str(ei.value) == 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'
    with pytest.raises(TemplateExecError, match='nil pointer evaluating interface {}.X'):
        render("{{.Nope.X}}", {}, missingkey="zero")


# --- callables and objects -----------------------------------------------------------------

def test_callables_found_as_fields_are_called():
    calls = []

    def lazy():
        calls.append(1)
        return "computed"

    data = {"Lazy": lazy, "Add": lambda a, b: a + b, "Boom": lambda: 1 / 0}
    assert render("{{if false}}{{.Lazy}}{{end}}", data) == ""
    assert calls == []  # only computed when used
    assert render("{{.Lazy}} {{.Lazy | len}}", data) == "computed 8"
    assert render("{{.Add 1 2}} {{3 | .Add 4}} {{call .Add 5 6}}", data) == "3 7 11"
    with pytest.raises(TemplateExecError) as ei:
        render("{{.Boom}}", data)
    assert str(ei.value) == 'template: :1:2: executing "" at <.Boom>: error calling Boom: division by zero'
    with pytest.raises(TemplateExecError, match="error calling call: non-function .Size of type int"):
        render("{{call .Size}}", PS_ROW)
    with pytest.raises(TemplateExecError, match="error calling call: call of nil"):
        render("{{call .Nope}}", PS_ROW)


@dataclass
class _Container:
    ID: str
    Size: int

    def Short(self) -> str:
        return self.ID[:3]

    def Prefix(self, p: str) -> str:
        return p + self.ID


def test_objects_expose_public_attributes_and_methods():
    c = _Container("abcdef", 5)
    assert render("{{.ID}} {{.Short}} {{.Prefix \"x-\"}} {{.Size}}", c) == "abcdef abc x-abcdef 5"
    assert render("{{.}} {{printf \"%+v\" .}} {{json .}}", c) == (
        '{abcdef 5} {ID:abcdef Size:5} {"ID":"abcdef","Size":5}')
    with pytest.raises(TemplateExecError, match="can't evaluate field _secret in type _Container"):
        render("{{._secret}}", c)


# --- functions -----------------------------------------------------------------------------

def test_extra_funcs_plain_and_typed():
    funcs = {"shout": lambda s: s.upper() + "!", "twice": GoFunc(lambda n: n * 2, ("int",))}
    assert render("{{shout .}} {{twice 21}} {{. | shout}}", "hi", funcs=funcs) == "HI! 42 HI!"
    with pytest.raises(TemplateExecError) as ei:
        render('{{twice "x"}}', None, funcs=funcs)
    assert str(ei.value) == 'template: :1:8: executing "" at <"x">: expected integer; found "x"'
    with pytest.raises(TemplateExecError, match="wrong number of args for twice: want 1 got 2"):
        render("{{twice 1 2}}", None, funcs=funcs)
    with pytest.raises(TemplateExecError, match="error calling shout: 'int' object has no attribute"):
        render("{{shout 1}}", None, funcs=funcs)
    # without the funcs the name is unknown at parse time, as in Go
    with pytest.raises(TemplateSyntaxError, match='function "shout" not defined'):
        render("{{shout 1}}", None)


def test_header_funcs_leave_header_text_alone():
    header = {"ID": "CONTAINER ID", "Names": "NAMES", "Labels": "LABELS"}
    t = "{{truncate .ID 3}}\t{{upper .Names}}\t{{json .Labels}}\t{{pad .Names 1 1}}"
    assert render(t, header, funcs=HEADER_FUNCS) == "CONTAINER ID\tNAMES\tLABELS\t NAMES "
    assert render(t, {"ID": "abcdef", "Names": "web", "Labels": {}}) == "abc\tWEB\t{}\t web "


def test_html_js_urlquery():
    assert render("{{html .}}", "<a href='x'>&\"\0") == "&lt;a href=&#39;x&#39;&gt;&amp;&#34;\ufffd"
    assert render("{{js .}}", "a'b\"<>&=\\\n") == "a\\'b\\\"\\u003C\\u003E\\u0026\\u003D\\\\\\u000A"
    assert render("{{urlquery .}}", "a b&c/é~") == "a+b%26c%2F%C3%A9~"


# --- parsing, errors, caching ---------------------------------------------------------------

def test_parse_returns_cached_template():
    t = parse("{{.ID}}")
    assert isinstance(t, Template)
    assert parse("{{.ID}}") is t
    assert t.execute({"ID": "x"}) == "x"
    assert parse("{{.ID}}", name="version") is not t


@pytest.mark.parametrize(("template", "message"), [
    ("{{.ID", "template: :1: unclosed action"),
    ("{{foo}}", 'template: :1: function "foo" not defined'),
    ("{{if .A}}x", "template: :1: unexpected EOF"),
    ("line1\n{{end}}", "template: :2: unexpected {{end}}"),
    ("{{$x}}", 'template: :1: undefined variable "$x"'),
    ("{{/* x", "template: :1: unclosed comment"),
])
def test_syntax_errors(template, message):
    with pytest.raises(TemplateSyntaxError) as ei:
        parse(template)
    assert str(ei.value) == message


def test_exec_error_keeps_partial_output_and_location():
    with pytest.raises(TemplateExecError) as ei:
        render("ok\né{{len 3}}", None)
    # Go counts columns in bytes
    assert str(ei.value) == 'template: :2:4: executing "" at <len 3>: error calling len: len of type int'
    assert ei.value.partial == "ok\né"


def test_runaway_template_recursion_is_an_error():
    with pytest.raises(TemplateExecError, match="exceeded maximum template depth") as ei:
        render('a{{define "r"}}{{template "r"}}{{end}}b{{template "r"}}', None)
    assert ei.value.partial == "ab"


def test_import_is_cheap():
    """Runs inside every CLI call with --format: stdlib only, nothing heavy at import."""
    repo = Path(__file__).resolve().parents[2]
    code = ("import sys; import dockyard.cli; before = set(sys.modules); "
            "import dockyard.cli.gotemplate; "
            "print(sorted(m for m in set(sys.modules) - before if not m.startswith('dockyard')))")
    env = dict(os.environ, PYTHONPATH=str(repo))
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert not {"re", "typing", "json", "struct", "decimal", "inspect"} & set(eval(out))
