package org.infoscreen.fleet.logging;

import org.apache.logging.log4j.core.Core;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.appender.rewrite.RewritePolicy;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.config.plugins.PluginFactory;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.message.SimpleMessage;
import org.infoscreen.fleet.support.Redaction;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Log4j rewrite policy {@code <RedactCredentials/>} for the JSON log format: the message of every
 * event, and the message of every throwable in its cause and suppressed chain, passes
 * {@link Redaction#redact(String)} before the JSON layout writes it, as the text layout's
 * {@code <replace>} does for the whole text line. An event that holds no credential is passed on
 * unchanged. When a throwable's text held one, the event carries a {@link RedactedThrowable} copy of
 * the chain instead: same stack frames, the original class name kept in its text
 * ({@code error.stack_trace} reads as before, {@code error.type} names {@link RedactedThrowable}).
 */
@Plugin(name = "RedactCredentials", category = Core.CATEGORY_NAME, elementType = "rewritePolicy", printObject = true)
public final class RedactCredentials implements RewritePolicy {

    private RedactCredentials() {
    }

    /** @return the policy (no settings) */
    @PluginFactory
    public static RedactCredentials create() {
        return new RedactCredentials();
    }

    @Override
    public LogEvent rewrite(LogEvent event) {
        String message = event.getMessage() == null ? null : event.getMessage().getFormattedMessage();
        String redacted = Redaction.redact(message);
        boolean messageChanged = message != null && !message.equals(redacted);
        Throwable thrown = event.getThrown();
        boolean thrownChanged = thrown != null && holdsCredential(thrown, Collections.newSetFromMap(new IdentityHashMap<>()));
        if (!messageChanged && !thrownChanged) {
            return event;
        }
        Log4jLogEvent.Builder builder = new Log4jLogEvent.Builder(event);
        if (messageChanged) {
            builder.setMessage(new SimpleMessage(redacted));
        }
        if (thrownChanged) {
            builder.setThrown(RedactedThrowable.copyOf(thrown, new IdentityHashMap<>())).setThrownProxy(null);
        }
        return builder.build();
    }

    private static boolean holdsCredential(Throwable t, Set<Throwable> seen) {
        if (t == null || !seen.add(t)) {
            return false;
        }
        String text = t.getMessage();
        if (text != null && !text.equals(Redaction.redact(text))) {
            return true;
        }
        for (Throwable s : t.getSuppressed()) {
            if (holdsCredential(s, seen)) {
                return true;
            }
        }
        return holdsCredential(t.getCause(), seen);
    }

    /**
     * A throwable standing in for one whose message held a credential: the redacted message, the
     * original stack frames, causes and suppressed throwables copied the same way; {@link #toString()}
     * names the original class, so a printed stack trace reads like the original one.
     */
    public static final class RedactedThrowable extends Throwable {

        private static final long serialVersionUID = 1L;

        private final String originalClassName;

        private RedactedThrowable(String originalClassName, String message) {
            super(message);
            this.originalClassName = originalClassName;
        }

        static Throwable copyOf(Throwable t, Map<Throwable, Throwable> copies) {
            if (t == null) {
                return null;
            }
            Throwable done = copies.get(t);
            if (done != null) {
                return done;
            }
            RedactedThrowable copy = new RedactedThrowable(t.getClass().getName(), Redaction.redact(t.getMessage()));
            copies.put(t, copy);
            copy.setStackTrace(t.getStackTrace());
            Throwable cause = copyOf(t.getCause(), copies);
            if (cause != null && cause != copy) {
                copy.initCause(cause);
            }
            for (Throwable s : t.getSuppressed()) {
                copy.addSuppressed(copyOf(s, copies));
            }
            return copy;
        }

        /** @return the class name of the throwable this one stands in for */
        public String originalClassName() {
            return originalClassName;
        }

        @Override
        public String toString() {
            String message = getLocalizedMessage();
            return message == null ? originalClassName : originalClassName + ": " + message;
        }
    }

    @Override
    public String toString() {
        return "RedactCredentials";
    }
}
