// Package toolsearchtest generates a large, realistic tool catalog — ten connectors of fifty
// tools each — and serves it from real go-sdk MCP servers, for tests of tool search at the size
// that motivates it. The catalog is deterministic: the labelled queries in
// internal/toolsearch/testdata refer to its tool names.
package toolsearchtest

import (
	"encoding/json"
	"strings"
)

// Connector is one generated MCP server.
type Connector struct {
	// Name is the connector's name in vmcp's configuration.
	Name  string
	Tools []Tool
}

// Tool is one generated tool definition.
type Tool struct {
	Name        string
	Description string
	InputSchema json.RawMessage
}

// entity is a kind of thing a connector manages; every entity gets the five verbs below.
type entity struct {
	name string // snake_case, used in tool names
	// create is the verb a person would use for making one ("Send" a message, "Open" an issue).
	create string
	// about describes the thing in the connector's own words.
	about string
	// fields are the parameters that create and update take.
	fields string
}

type domain struct {
	connector, product string
	entities           []entity
}

var domains = []domain{
	{"github", "GitHub", []entity{
		{"issue", "Open", "a bug report or feature request tracked in a repository", "repo,title,body,assignees"},
		{"pull_request", "Open", "a proposed code change from a branch, ready for review and merge", "repo,head,base,title"},
		{"repository", "Create", "a git repository holding code, with its settings and visibility", "owner,name,private"},
		{"branch", "Create", "a named line of development in a repository", "repo,name,from_sha"},
		{"commit", "Create", "a recorded change of files with its author and message", "repo,message,tree"},
		{"release", "Publish", "a tagged version of the software with release notes and assets", "repo,tag,notes"},
		{"workflow_run", "Trigger", "a run of a GitHub Actions CI workflow with its jobs and logs", "repo,workflow,ref"},
		{"label", "Create", "a colored tag used to categorize issues and pull requests", "repo,name,color"},
		{"milestone", "Create", "a due-dated goal grouping issues and pull requests", "repo,title,due_on"},
		{"review_comment", "Add", "a code review remark on a line of a pull request diff", "repo,pull_number,path,line,body"},
	}},
	{"slack", "Slack", []entity{
		{"message", "Send", "a chat message posted to a channel or a direct conversation", "channel,text"},
		{"channel", "Create", "a chat room where a team talks, public or private", "name,is_private,topic"},
		{"user", "Invite", "a member of the workspace with a profile and presence", "email,real_name"},
		{"reaction", "Add", "an emoji reaction on a message", "channel,timestamp,emoji"},
		{"reminder", "Set", "a reminder that pings someone at a given time", "text,time,user"},
		{"file", "Upload", "a file or snippet shared in a conversation", "channels,filename,content"},
		{"thread", "Start", "a threaded reply conversation under a message", "channel,thread_ts,text"},
		{"user_group", "Create", "a group handle like @oncall that mentions several people", "handle,users"},
		{"bookmark", "Add", "a link pinned at the top of a channel", "channel,title,link"},
		{"status", "Set", "a person's status text and emoji, like in a meeting or on vacation", "status_text,status_emoji,expiration"},
	}},
	{"jira", "Jira", []entity{
		{"ticket", "File", "a work item such as a bug, story or task in a Jira project", "project,summary,issue_type,priority"},
		{"sprint", "Start", "a time-boxed iteration of an agile scrum board", "board,name,start_date,end_date"},
		{"board", "Create", "a scrum or kanban board showing a project's work", "name,project,type"},
		{"epic", "Create", "a large body of work split into stories", "project,summary"},
		{"project", "Create", "a Jira project with its key, lead and workflows", "key,name,lead"},
		{"worklog", "Log", "time spent working on a ticket", "ticket,time_spent,started"},
		{"attachment", "Attach", "a file attached to a ticket", "ticket,filename"},
		{"comment", "Add", "a comment in the discussion of a ticket", "ticket,body"},
		{"version", "Create", "a fix version (release) that tickets are scheduled for", "project,name,release_date"},
		{"component", "Create", "a component grouping a project's tickets by area", "project,name,lead"},
	}},
	{"drive", "Google Drive", []entity{
		{"file", "Upload", "a document, spreadsheet or other file stored in Drive", "name,mime_type,parent"},
		{"folder", "Create", "a folder organizing files in Drive", "name,parent"},
		{"permission", "Grant", "sharing access (reader, commenter, writer) to a file for a person or group", "file_id,email,role"},
		{"shared_drive", "Create", "a team drive whose files belong to the team instead of a person", "name"},
		{"revision", "Save", "a stored earlier version of a file's content", "file_id"},
		{"comment", "Add", "a comment anchored on a document's text", "file_id,content"},
		{"shortcut", "Create", "a shortcut pointing to a file from another folder", "target_id,parent"},
		{"label", "Apply", "a classification label with fields applied to files", "file_id,label_id"},
		{"trash_item", "Move", "a file moved to the trash, restorable for thirty days", "file_id"},
		{"export", "Export", "a converted copy of a document as PDF, DOCX or CSV", "file_id,mime_type"},
	}},
	{"calendar", "Google Calendar", []entity{
		{"event", "Schedule", "a meeting or appointment on a calendar with a start and end time", "calendar_id,summary,start,end,attendees"},
		{"calendar", "Create", "a calendar holding events, personal or shared", "summary,time_zone"},
		{"attendee", "Invite", "a guest of a meeting with their response status", "event_id,email"},
		{"event_reminder", "Set", "a popup or email notification before a meeting starts", "event_id,minutes_before,method"},
		{"room", "Book", "a bookable meeting room or resource", "building,capacity"},
		{"free_busy", "Query", "the free and busy time slots of people, to find a time to meet", "emails,time_min,time_max"},
		{"recurring_series", "Create", "a repeating event such as a weekly standup", "calendar_id,summary,rrule"},
		{"invitation", "Respond to", "a meeting invitation you can accept, decline or tentatively accept", "event_id,response"},
		{"working_hours", "Set", "the hours of the week someone is usually available", "days,start,end"},
		{"out_of_office", "Set", "an out-of-office block that declines meetings while you are away", "start,end,message"},
	}},
	{"crm", "Salesforce CRM", []entity{
		{"contact", "Add", "a person at a customer or prospect with phone and email", "first_name,last_name,email,company"},
		{"company", "Add", "an account: an organization you sell to", "name,domain,industry"},
		{"deal", "Create", "a sales opportunity with an amount, stage and close date", "name,amount,stage,close_date"},
		{"lead", "Capture", "a prospective customer not yet qualified", "email,source"},
		{"pipeline", "Create", "the sales stages deals move through", "name,stages"},
		{"activity", "Log", "a logged sales call, meeting or email with a customer", "type,subject,contact_id"},
		{"crm_note", "Add", "a free-text note on a contact, company or deal", "record_id,body"},
		{"task", "Create", "a follow-up to-do for a sales rep with a due date", "subject,due_date,owner"},
		{"quote", "Send", "a price quote with line items sent to a customer", "deal_id,line_items"},
		{"campaign", "Launch", "a marketing campaign that generates leads", "name,budget,start_date"},
	}},
	{"billing", "Stripe billing", []entity{
		{"invoice", "Issue", "a bill sent to a customer listing what they owe", "customer,items,due_date"},
		{"customer", "Create", "a paying customer with billing details and a payment method", "email,name"},
		{"subscription", "Start", "a recurring plan a customer pays for monthly or yearly", "customer,price,trial_days"},
		{"payment", "Charge", "a charge of a card or bank account", "customer,amount,currency"},
		{"refund", "Refund", "money returned to a customer for a charge", "payment_id,amount,reason"},
		{"coupon", "Create", "a discount code taking a percentage or an amount off", "percent_off,duration"},
		{"price", "Create", "the cost and billing interval of a product", "product,unit_amount,interval"},
		{"product", "Create", "something you sell, with its name and description", "name,description"},
		{"payout", "Send", "a transfer of your balance to your bank account", "amount,destination"},
		{"tax_rate", "Create", "a sales tax or VAT percentage applied to invoices", "percentage,jurisdiction"},
	}},
	{"monitoring", "Datadog monitoring", []entity{
		{"alert", "Raise", "a notification fired when a metric crosses a threshold", "monitor_id,severity"},
		{"dashboard", "Create", "a board of graphs and widgets for observing services", "title,widgets"},
		{"metric", "Submit", "a time series of measurements such as latency or CPU usage", "name,points,tags"},
		{"incident", "Declare", "an outage or degradation being handled by responders", "title,severity,commander"},
		{"monitor", "Create", "a check that watches a metric or log query and alerts", "query,threshold,notify"},
		{"silence", "Mute", "a mute window that stops alerts during maintenance", "scope,start,end"},
		{"on_call_schedule", "Create", "the rotation of who is on call and paged for alerts", "name,rotation,users"},
		{"slo", "Define", "a service level objective with its error budget", "name,target,timeframe"},
		{"log_query", "Run", "a search over application logs for errors", "query,from,to"},
		{"status_page", "Publish", "the public status page shown to customers during outages", "component,status,message"},
	}},
	{"database", "PostgreSQL database", []entity{
		{"table", "Create", "a SQL table with columns and types", "schema,name,columns"},
		{"row", "Insert", "a record stored in a table", "table,values"},
		{"db_index", "Create", "an index that speeds up queries on columns", "table,columns,unique"},
		{"query", "Run", "a read-only SQL SELECT statement and its result rows", "sql,params"},
		{"backup", "Take", "a snapshot of the database that can be restored", "label"},
		{"migration", "Apply", "a versioned schema change applied to the database", "version,sql"},
		{"view", "Create", "a saved SQL query usable like a table", "name,sql"},
		{"schema", "Create", "a namespace grouping tables", "name"},
		{"replica", "Add", "a read replica following the primary database", "region"},
		{"db_user", "Create", "a database role that logs in with a password and grants", "username,grants"},
	}},
	{"mail", "Gmail", []entity{
		{"email", "Send", "an email message delivered to recipients' inboxes", "to,subject,body,cc"},
		{"draft", "Save", "an unsent email kept for later editing", "to,subject,body"},
		{"mail_label", "Create", "a label that organizes emails, like a folder", "name,color"},
		{"filter", "Create", "a rule that sorts incoming mail automatically", "from,subject,action"},
		{"mail_contact", "Add", "an address book entry with a name and email address", "name,email"},
		{"mail_attachment", "Attach", "a file attached to an email", "message_id,filename"},
		{"mail_thread", "Archive", "a conversation of emails and replies", "thread_id"},
		{"signature", "Set", "the text appended to the end of every email you send", "text"},
		{"vacation_responder", "Turn on", "an automatic reply sent while you are on vacation", "subject,body,start,end"},
		{"mailbox", "Create", "a shared inbox or delegated mailbox", "address,delegates"},
	}},
}

// Catalog returns the ten generated connectors, in a fixed order.
func Catalog() []Connector {
	out := make([]Connector, 0, len(domains))
	for _, d := range domains {
		c := Connector{Name: d.connector}
		for _, e := range d.entities {
			c.Tools = append(c.Tools, tools(d, e)...)
		}
		out = append(out, c)
	}
	return out
}

// tools makes the five tools of one entity, in the words a real connector would use.
func tools(d domain, e entity) []Tool {
	human := strings.ReplaceAll(e.name, "_", " ")
	plural := human + "s"
	if strings.HasSuffix(human, "y") && !strings.HasSuffix(human, "ay") {
		plural = strings.TrimSuffix(human, "y") + "ies"
	} else if strings.HasSuffix(human, "s") || strings.HasSuffix(human, "x") || strings.HasSuffix(human, "h") {
		plural = human + "es"
	}
	fields := strings.Split(e.fields, ",")
	idField := e.name + "_id"
	return []Tool{
		{Name: "create_" + e.name, Description: e.create + " " + article(human) + " " + human + " in " + d.product + ": " + e.about + ".", InputSchema: schema(fields, fields[:1])},
		{Name: "get_" + e.name, Description: "Get one " + human + " from " + d.product + " by id, with all its details.", InputSchema: schema([]string{idField}, []string{idField})},
		{Name: "list_" + plural2name(plural), Description: "List or search " + plural + " in " + d.product + ", filtered and paged.", InputSchema: schema([]string{"filter", "page_size", "page_token"}, nil)},
		{Name: "update_" + e.name, Description: "Change the fields of an existing " + human + " in " + d.product + ".", InputSchema: schema(append([]string{idField}, fields...), []string{idField})},
		{Name: "delete_" + e.name, Description: "Delete " + article(human) + " " + human + " from " + d.product + " permanently.", InputSchema: schema([]string{idField}, []string{idField})},
	}
}

func plural2name(p string) string { return strings.ReplaceAll(p, " ", "_") }

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an"
	}
	return "a"
}

// schema is a JSON Schema object with string properties named after fields.
func schema(fields, required []string) json.RawMessage {
	props := map[string]any{}
	for _, f := range fields {
		props[f] = map[string]any{"type": "string", "description": "The " + strings.ReplaceAll(f, "_", " ") + "."}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	b, _ := json.Marshal(s)
	return b
}
