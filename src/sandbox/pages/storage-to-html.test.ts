import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeText, storageToHtml } from './storage-to-html.js';

test('storageToHtml keeps formatting and drops everything that could run or leave the page', () => {
  const cases: [string, string][] = [
    ['<p>hi <strong>there</strong></p>', '<p>hi <strong>there</strong></p>'],
    ['<h2 id="x" style="color:red">T</h2><ul><li>a</li></ul>', '<h2>T</h2><ul><li>a</li></ul>'],
    ['<p onclick="alert(1)">a</p>', '<p>a</p>'],
    ['<script>alert(1)</script><p>ok</p>', '<p>ok</p>'],
    ['<SCRIPT type="x">alert(1)</SCRIPT >x', 'x'],
    ['<img src=x onerror=alert(1)>', ''],
    ['<a href="javascript:alert(1)">link</a>', 'link'],
    ['<iframe src="https://evil.example">inside</iframe>after', 'after'],
    ['<svg><script>alert(1)</script></svg>', ''],
    ['<p title="a>b" onmouseover=x>t</p>', '<p>t</p>'],
    ['<p>1 < 2 & 3 > 2 &amp; &#169;</p>', '<p>1 &lt; 2 &amp; 3 &gt; 2 &amp; &#169;</p>'],
    ['<strong>unclosed', '<strong>unclosed</strong>'],
    ['</p>stray<em>a</strong>b</em>', 'stray<em>ab</em>'],
    ['<p>a<br/>b</p><hr />', '<p>a<br>b</p><hr>'],
    ['<!-- <script>x</script> -->c', 'c'],
    ['<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[<b>raw</b> & co]]></ac:plain-text-body></ac:structured-macro>', '&lt;b&gt;raw&lt;/b&gt; &amp; co'],
    ['<p "onload=x">a</p>', '<p>a</p>'],
    ['<<script>script>alert(1)<</script>/script>', ''],
    ['<scr<script>x</script>ipt>alert(1)</script>', 'alert(1)'],
  ];
  for (const [input, want] of cases) assert.equal(storageToHtml(input), want, input);
});

test('escapeText escapes markup and quotes but keeps well-formed character references', () => {
  assert.equal(escapeText(`<a href="x">'&copy; &nope &#x41;&#`), '&lt;a href=&quot;x&quot;&gt;&#39;&copy; &amp;nope &#x41;&amp;#');
});
