package org.infoscreen.fleet.logging;

import org.apache.logging.log4j.core.Core;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.appender.rewrite.RewritePolicy;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.config.plugins.PluginFactory;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.message.SimpleMessage;
import org.infoscreen.fleet.support.Redaction;

/**
 * Log4j rewrite policy {@code <RedactCredentials/>} for the JSON log format: the message of every
 * event passes {@link Redaction#redact(String)} before the JSON layout writes it, as the text
 * layout's {@code <replace>} does for the text format. Only the message is rewritten; an event
 * whose message holds no credential is passed on unchanged.
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
        if (message == null || message.equals(redacted)) {
            return event;
        }
        return new Log4jLogEvent.Builder(event).setMessage(new SimpleMessage(redacted)).build();
    }

    @Override
    public String toString() {
        return "RedactCredentials";
    }
}
