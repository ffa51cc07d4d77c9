// A local SMTP server for the browser tests: speaks enough RFC 5321 for machi's mail client
// (lettre) to deliver, and keeps each message so a test can read what a resident's mailbox
// got, decoded as a mail client would (RFC 2047 subject, base64 or quoted-printable body).
import { createServer } from 'node:net';

/** Decodes a quoted-printable body (RFC 2045 6.7) to bytes. */
function fromQuotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value. */
function decodeWords(value) {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset, kind, text) =>
      (kind.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64')
        : fromQuotedPrintable(text.replace(/_/g, ' '))).toString('utf8'));
}

/** Headers and body of a message or of one of its parts. */
function split(raw) {
  const at = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, at).replace(/\r\n[ \t]+/g, ' ');
  const headers = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.slice(at + 4) };
}

function decodeBody(headers, body) {
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  return encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8')
    : encoding === 'quoted-printable' ? fromQuotedPrintable(body).toString('utf8')
      : body;
}

/** The leaf parts of a (possibly multipart, RFC 2046) entity, each decoded. */
function parts(headers, body) {
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith('multipart/') || !boundary) {
    return [{ type: type.toLowerCase(), disposition: headers['content-disposition'] ?? '', content: decodeBody(headers, body) }];
  }
  return body.split(`--${boundary}`).slice(1)
    .filter((chunk) => !chunk.startsWith('--'))
    .flatMap((chunk) => {
      const part = split(chunk.replace(/^\r\n/, ''));
      return parts(part.headers, part.body.replace(/\r\n$/, ''));
    });
}

/** One message as a mailbox shows it: the text, and the other parts as attachments. */
function parse(raw, envelope) {
  const { headers, body } = split(raw);
  const leaves = parts(headers, body);
  const textPart = leaves.find((p) => p.type.startsWith('text/plain') && !p.disposition.startsWith('attachment'));
  const attachments = leaves.filter((p) => p !== textPart);
  return { ...envelope, headers, subject: decodeWords(headers.subject ?? ''), text: textPart?.content ?? '', attachments };
}

/** Starts the sink on a free port; returns its smtp:// URL, the messages and a stop(). */
export async function startSmtpSink() {
  const messages = [];
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    socket.write('220 sink.test ESMTP\r\n');
    let buffer = '';
    let data = null;
    let envelope = { from: '', to: [] };
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (;;) {
        if (data !== null) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end === -1) return;
          // Undo dot-stuffing (RFC 5321 4.5.2).
          const raw = (buffer.slice(0, end + 2)).replace(/^\.\./gm, '.');
          buffer = buffer.slice(end + 5);
          data = null;
          messages.push(parse(raw, envelope));
          socket.write('250 OK queued\r\n');
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline === -1) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const upper = line.toUpperCase();
        const address = () => line.slice(line.indexOf(':') + 1).trim().split(/\s+/)[0].replace(/[<>]/g, '');
        if (upper.startsWith('EHLO')) socket.write('250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (upper.startsWith('HELO')) socket.write('250 sink.test\r\n');
        else if (upper.startsWith('MAIL FROM:')) { envelope = { from: address(), to: [] }; socket.write('250 OK\r\n'); }
        else if (upper.startsWith('RCPT TO:')) { envelope.to.push(address()); socket.write('250 OK\r\n'); }
        else if (upper === 'DATA') { data = ''; socket.write('354 end with <CRLF>.<CRLF>\r\n'); }
        else if (upper === 'QUIT') { socket.end('221 bye\r\n'); return; }
        else if (upper === 'RSET' || upper === 'NOOP') socket.write('250 OK\r\n');
        else socket.write('502 not implemented\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    /** Waits (up to 20 s) for a message to `to` whose subject matches `subject`. */
    async waitFor(to, subject) {
      for (let i = 0; i < 200; i++) {
        const found = messages.find((m) => m.to.includes(to) && subject.test(m.subject));
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no mail to ${to} matching ${subject}; got ${messages.map((m) => `${m.to} ${m.subject}`).join(', ')}`);
    },
    // machi's mail client keeps its connections open (a pool): close them too.
    stop: () => new Promise((resolve) => { server.close(resolve); for (const s of sockets) s.destroy(); }),
  };
}
