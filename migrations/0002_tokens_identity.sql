ALTER TABLE `tokens` ADD `uid` text;--> statement-breakpoint
ALTER TABLE `tokens` ADD `tenant` text;--> statement-breakpoint
ALTER TABLE `tokens` ADD `revoked_at` integer;--> statement-breakpoint
CREATE INDEX `tokens_tenant` ON `tokens` (`tenant`);